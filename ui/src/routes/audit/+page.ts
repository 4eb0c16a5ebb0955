import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** The audit log, newest first. */
export const load = (({ url }) =>
  fromApi(url, async () => ({ entries: await api.audit() }))) satisfies PageLoad;
