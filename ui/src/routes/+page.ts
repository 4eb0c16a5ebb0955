import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** The node list; the page reloads it every 10 s through `invalidate('cairn:nodes')`. */
export const load = (({ url, depends }) => {
  depends('cairn:nodes');
  return fromApi(url, async () => ({ nodes: await api.nodes() }));
}) satisfies PageLoad;
