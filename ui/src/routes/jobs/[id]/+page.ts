import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** One job and its stored events (the log), with the nodes and recipes to name it by. */
export const load = (({ params, url }) =>
  fromApi(url, async () => {
    const [job, events, nodes, recipes] = await Promise.all([
      api.job(params.id),
      api.jobEvents(params.id),
      api.nodes(),
      api.recipes(),
    ]);
    return { job, events, nodes, recipes };
  })) satisfies PageLoad;
