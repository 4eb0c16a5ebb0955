import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** Every user (the owner's page; the control plane answers 403 to anyone else). */
export const load = (({ url }) =>
  fromApi(url, async () => ({ users: await api.users() }))) satisfies PageLoad;
