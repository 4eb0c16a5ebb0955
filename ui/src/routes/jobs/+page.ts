import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** The job history, of every node or of `?node=`, and the nodes to name them by. */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const node = url.searchParams.get('node') ?? '';
    const [jobs, nodes] = await Promise.all([api.jobs(node || undefined), api.nodes()]);
    return { node, jobs, nodes };
  })) satisfies PageLoad;
