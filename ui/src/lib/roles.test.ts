import { describe, expect, it } from 'vitest';
import {
  atLeast,
  mayManageNodes,
  mayManageUsers,
  mayStartJobs,
  navFor,
  offeredActions,
  parseGroups,
  tokenFromHash,
} from './roles';

describe('roles', () => {
  it('orders the roles, and no role is nothing', () => {
    expect(atLeast('owner', 'admin')).toBe(true);
    expect(atLeast('operator', 'admin')).toBe(false);
    expect(atLeast(null, 'viewer')).toBe(false);
  });

  it('offers a viewer no job and an operator no node management', () => {
    expect(mayStartJobs('viewer')).toBe(false);
    expect(mayStartJobs('operator')).toBe(true);
    expect(mayManageNodes('operator')).toBe(false);
    expect(mayManageNodes('admin')).toBe(true);
    expect(mayManageUsers('admin')).toBe(false);
    expect(mayManageUsers('owner')).toBe(true);
  });

  it('shows Users to the owner only and the audit log to admins and up', () => {
    const hrefs = (r: Parameters<typeof navFor>[0]) => navFor(r).map((n) => n.href);
    expect(hrefs('owner')).toContain('/users');
    expect(hrefs('admin')).not.toContain('/users');
    expect(hrefs('admin')).toContain('/audit');
    expect(hrefs('viewer')).not.toContain('/audit');
    expect(hrefs('viewer')).toContain('/jobs');
  });

  it('reads the secret after # of a link and nothing else', () => {
    expect(tokenFromHash('#abcdefghijklmnop_QRS-123')).toBe('abcdefghijklmnop_QRS-123');
    expect(tokenFromHash('')).toBeNull();
    expect(tokenFromHash('#short')).toBeNull();
    expect(tokenFromHash('#<script>alert(1)</script>xxxxxxxx')).toBeNull();
  });

  it('reads groups typed with commas or spaces, once each', () => {
    expect(parseGroups(' Web, db  web,prod ')).toEqual(['web', 'db', 'prod']);
    expect(parseGroups('')).toEqual([]);
  });

  it('offers destructive actions only to whom may run them', () => {
    const actions = [{ name: 'rotate' }, { name: 'drop', destructive: true }];
    expect(offeredActions(actions, false).map((a) => a.name)).toEqual(['rotate']);
    expect(offeredActions(actions, true).map((a) => a.name)).toEqual(['rotate', 'drop']);
  });
});
