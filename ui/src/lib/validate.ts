/**
 * Form validation that mirrors the server's (`engine/src/params.rs`), so a user learns at once
 * what the agent would refuse. The server still checks: this is a courtesy, not a defence.
 */

export const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** `engine/src/params.rs` `RESERVED`: keep in step with it. */
export const RESERVED = new Set([
  'postgres',
  'template0',
  'template1',
  'root',
  'mysql',
  'sys',
  'information_schema',
  'performance_schema',
  'mariadb',
  'public',
  'pg_catalog',
  'pg_toast',
  'admin',
  'default',
  'all',
  'alter',
  'and',
  'any',
  'as',
  'asc',
  'authorization',
  'between',
  'both',
  'by',
  'case',
  'cast',
  'check',
  'collate',
  'column',
  'constraint',
  'create',
  'cross',
  'current_date',
  'current_role',
  'current_time',
  'current_timestamp',
  'current_user',
  'database',
  'delete',
  'desc',
  'distinct',
  'do',
  'drop',
  'else',
  'end',
  'except',
  'exists',
  'false',
  'fetch',
  'for',
  'foreign',
  'from',
  'full',
  'grant',
  'group',
  'having',
  'in',
  'index',
  'inner',
  'insert',
  'intersect',
  'into',
  'is',
  'join',
  'key',
  'leading',
  'left',
  'like',
  'limit',
  'natural',
  'not',
  'null',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'outer',
  'primary',
  'references',
  'revoke',
  'right',
  'role',
  'schema',
  'select',
  'session_user',
  'set',
  'some',
  'table',
  'then',
  'to',
  'trailing',
  'true',
  'union',
  'unique',
  'update',
  'user',
  'using',
  'values',
  'when',
  'where',
  'with',
]);

export type IdentProblem = 'empty' | 'pattern' | 'reserved' | 'pg_prefix';

/** Why `value` is not an acceptable database or user name, or `null` if it is. */
export function identifierProblem(value: string): IdentProblem | null {
  if (value === '') return 'empty';
  if (!IDENT.test(value)) return 'pattern';
  if (RESERVED.has(value)) return 'reserved';
  if (value.startsWith('pg_')) return 'pg_prefix';
  return null;
}

/** A Redis ACL user name the recipe accepts (`recipes/redis.rhai`): `default` is Redis's own. */
export function redisUserProblem(value: string): IdentProblem | null {
  if (value === '') return 'empty';
  if (!IDENT.test(value)) return 'pattern';
  if (value === 'default') return 'reserved';
  return null;
}

/** The recipe's `prefix` pattern: it goes into the ACL key pattern `~PREFIX*`, so no globs. */
export const KEY_PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether a Redis key prefix is acceptable: `empty`, `pattern`, or null when it is. */
export function keyPrefixProblem(value: string): 'empty' | 'pattern' | null {
  if (value === '') return 'empty';
  return KEY_PREFIX.test(value) ? null : 'pattern';
}
