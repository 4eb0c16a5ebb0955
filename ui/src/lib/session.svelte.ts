/**
 * Who is signed in, shared by the layout and the pages: the name, and the role and node groups
 * from `GET /api/me` (the page leaves out what the role may not do; the server refuses it).
 */

import type { Role } from './roles';

export const session = $state<{
  username: string | null;
  role: Role | null;
  groups: string[];
  /** May run destructive actions (admins, owners, operators granted it). */
  mayDestroy: boolean;
  checked: boolean;
}>({
  username: null,
  role: null,
  groups: [],
  mayDestroy: false,
  checked: false,
});
