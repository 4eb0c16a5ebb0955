import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/**
 * The job history, of every node or of `?node=`, with the nodes and recipes to name them by
 * (jobs read as words: "Install Node.js" on "web-1").
 */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const node = url.searchParams.get('node') ?? '';
    const [jobs, nodes, recipes] = await Promise.all([
      api.jobs(node || undefined),
      api.nodes(),
      api.recipes(),
    ]);
    return { node, jobs, nodes, recipes };
  })) satisfies PageLoad;
