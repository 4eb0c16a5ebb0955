import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** The audit log, newest first, with the nodes, jobs and recipes its entries are named by. */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const [entries, nodes, jobs, recipes] = await Promise.all([
      api.audit(),
      api.nodes(),
      api.jobs(),
      api.recipes(),
    ]);
    return { entries, nodes, jobs, recipes };
  })) satisfies PageLoad;
