import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** One job and its stored events (the log). */
export const load = (({ params, url }) =>
  fromApi(url, async () => {
    const [job, events] = await Promise.all([api.job(params.id), api.jobEvents(params.id)]);
    return { job, events };
  })) satisfies PageLoad;
