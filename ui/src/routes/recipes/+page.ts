import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/**
 * The recipe catalogue as the control plane last read it ("Reload from disk" reads it again),
 * and the submissions waiting for an admin: `null` for a role that may not see them (a
 * viewer's request is refused, and the page shows no Submissions view).
 */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const [recipes, submissions] = await Promise.all([
      api.recipes(),
      api.submissions().catch(() => null),
    ]);
    return { recipes, submissions };
  })) satisfies PageLoad;
