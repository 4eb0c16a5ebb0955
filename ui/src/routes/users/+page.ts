import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** Every user and the invitations not yet accepted (the owner's page; the control plane
 * answers 403 to anyone else). */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const [users, invites] = await Promise.all([api.users(), api.invites()]);
    return { users, invites };
  })) satisfies PageLoad;
