import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** The recipe catalogue as the control plane last read it; "Reload from disk" reads it again. */
export const load = (({ url }) =>
  fromApi(url, async () => ({ recipes: await api.recipes() }))) satisfies PageLoad;
