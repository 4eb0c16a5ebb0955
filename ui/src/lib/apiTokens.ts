/**
 * API tokens on the account page (issue 20): which roles a token may take, the expiries
 * offered, a token's state, and the check before sending. The control plane checks all of it
 * again (`docs/api.md`, "API tokens"); this only keeps the form from offering what it refuses.
 */
import type { Key } from './i18n.svelte';
import { ROLES, type Role } from './roles';

export type ApiToken = {
  id: string;
  username: string;
  name: string;
  role: Role;
  groups: string[];
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  expired: boolean;
};

/** The creation's answer: the token as listed and its secret, shown once. */
export type NewApiToken = ApiToken & { token: string };

const DAY = 24 * 3600;
/** The expiries offered, in days (the control plane takes at most a year). */
export const EXPIRY_DAYS = [7, 30, 90, 365] as const;

export const expiresIn = (days: number) => days * DAY;

/** The roles a token of a user with `role` may take: theirs and those below. */
export function tokenRoles(role: Role | null | undefined): Role[] {
  if (!role) return [];
  return ROLES.slice(0, ROLES.indexOf(role) + 1);
}

/** Whether a role is limited to node groups. */
const scoped = (role: Role) => role === 'viewer' || role === 'operator';

/**
 * Why the form cannot be sent (an i18n key), or null: a name is needed, and a viewer or
 * operator token of an admin or owner must name a group (it would see no node).
 */
export function tokenFormError(
  user: Role | null | undefined,
  name: string,
  role: Role,
  groups: string[],
): Key | null {
  if (!name.trim()) return 'apiTokens.needName';
  if (!tokenRoles(user).includes(role)) return 'apiTokens.roleTooHigh';
  if (user && scoped(role) && !scoped(user) && groups.length === 0) return 'apiTokens.needGroup';
  return null;
}

/** A token's state for the list. */
export function tokenState(t: ApiToken, nowSecs: number): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expired || t.expiresAt <= nowSecs) return 'expired';
  return 'active';
}

/** Groups typed as "web, db" → ["web", "db"], blanks and repeats left out. */
export function parseGroups(text: string): string[] {
  const out: string[] = [];
  for (const g of text.split(/[,\s]+/)) {
    if (g && !out.includes(g)) out.push(g);
  }
  return out;
}
