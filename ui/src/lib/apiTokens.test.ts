import { describe, expect, it } from 'vitest';
import { expiresIn, parseGroups, tokenFormError, tokenRoles, tokenState } from './apiTokens';
import type { ApiToken } from './apiTokens';

const token = (over: Partial<ApiToken> = {}): ApiToken => ({
  id: 't',
  username: 'ana',
  name: 'deploy',
  role: 'viewer',
  groups: [],
  createdAt: 0,
  expiresAt: 100,
  lastUsedAt: null,
  revokedAt: null,
  expired: false,
  ...over,
});

describe('API tokens', () => {
  it('offers a role no higher than the user’s', () => {
    expect(tokenRoles('operator')).toEqual(['viewer', 'operator']);
    expect(tokenRoles('owner')).toEqual(['viewer', 'operator', 'admin', 'owner']);
    expect(tokenRoles(null)).toEqual([]);
  });

  it('refuses a form the control plane would refuse', () => {
    expect(tokenFormError('admin', ' ', 'admin', [])).toBe('apiTokens.needName');
    expect(tokenFormError('operator', 'x', 'admin', [])).toBe('apiTokens.roleTooHigh');
    expect(tokenFormError('admin', 'x', 'viewer', [])).toBe('apiTokens.needGroup');
    expect(tokenFormError('admin', 'x', 'viewer', ['web'])).toBeNull();
    // An operator's token without groups takes the operator's own.
    expect(tokenFormError('operator', 'x', 'viewer', [])).toBeNull();
  });

  it('says whether a token is active, expired or revoked', () => {
    expect(tokenState(token(), 50)).toBe('active');
    expect(tokenState(token(), 100)).toBe('expired');
    expect(tokenState(token({ revokedAt: 10 }), 50)).toBe('revoked');
  });

  it('reads groups and expiries', () => {
    expect(parseGroups('web, db  web,')).toEqual(['web', 'db']);
    expect(expiresIn(365)).toBe(31_536_000);
  });
});
