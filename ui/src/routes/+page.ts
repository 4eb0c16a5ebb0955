import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/**
 * The node list and each node's last hour (`GET /api/metrics/overview`); the page reloads both
 * every 10 s through `invalidate('cairn:nodes')`. A failed overview is `null`: the list shows no
 * figures rather than claiming there are none.
 */
export const load = (({ url, depends }) => {
  depends('cairn:nodes');
  return fromApi(url, async () => {
    const [nodes, overview] = await Promise.all([
      api.nodes(),
      api.metricsOverview().catch(() => null),
    ]);
    return { nodes, overview };
  });
}) satisfies PageLoad;
