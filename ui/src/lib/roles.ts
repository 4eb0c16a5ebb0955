/**
 * What the signed-in user's role lets the page offer (issue 20). The control plane refuses
 * whatever a role may not do anyway (`docs/api.md`, "Roles"); the page only leaves out the
 * buttons that would be refused.
 */

export type Role = 'viewer' | 'operator' | 'admin' | 'owner';

/** Every role, lowest first. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin', 'owner'];

/** Whether `role` is `needed` or higher; no role (not signed in yet) is nothing. */
export function atLeast(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Plans, jobs and actions: operators and up. */
export const mayStartJobs = (role: Role | null | undefined) => atLeast(role, 'operator');
/** Enrolling, renaming, removing nodes, alert rules, the audit log: admins and up. */
export const mayManageNodes = (role: Role | null | undefined) => atLeast(role, 'admin');
/** Users and the control plane's settings: the owner. */
export const mayManageUsers = (role: Role | null | undefined) => atLeast(role, 'owner');

/** The main navigation's entries this role may open. */
export function navFor(role: Role | null | undefined) {
  const all = [
    { href: '/', key: 'nav.nodes', needs: 'viewer' },
    { href: '/jobs', key: 'nav.jobs', needs: 'viewer' },
    { href: '/recipes', key: 'nav.recipes', needs: 'viewer' },
    { href: '/audit', key: 'nav.audit', needs: 'admin' },
    { href: '/alerts', key: 'nav.alerts', needs: 'viewer' },
    { href: '/users', key: 'nav.users', needs: 'owner' },
  ] as const;
  // Before `/api/me` answers, show what every role may open.
  return all.filter((n) => atLeast(role ?? 'viewer', n.needs));
}

/** The secret of an invitation or reset link (`…/invite#SECRET`); null when there is none. */
export function tokenFromHash(hash: string): string | null {
  const token = hash.replace(/^#/, '').trim();
  return /^[A-Za-z0-9_-]{16,200}$/.test(token) ? token : null;
}

/** Groups typed as `web, db prod`: lowercase, unique, in order. */
export function parseGroups(text: string): string[] {
  const out: string[] = [];
  for (const g of text.split(/[\s,]+/)) {
    const v = g.trim().toLowerCase();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * A recipe's declared actions this user is offered: a destructive one (uninstall, drop, remove,
 * restore over) only to whom may run it (`GET /api/me`'s `mayDestroy`: admins, owners, operators
 * granted it).
 */
export function offeredActions<A extends { destructive?: boolean }>(
  actions: readonly A[],
  mayDestroy: boolean,
): A[] {
  return actions.filter((a) => mayDestroy || !a.destructive);
}
