import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identifierProblem, KEY_PREFIX, keyPrefixProblem, RESERVED } from './validate';

describe('identifierProblem', () => {
  it('accepts what the server accepts', () => {
    for (const ok of ['myapp', '_x', 'a1_b2', 'a'.repeat(63)])
      expect(identifierProblem(ok)).toBe(null);
  });

  it('refuses what the server refuses, saying why', () => {
    expect(identifierProblem('')).toBe('empty');
    expect(identifierProblem('1abc')).toBe('pattern');
    expect(identifierProblem('MyApp')).toBe('pattern');
    expect(identifierProblem('my-app')).toBe('pattern');
    expect(identifierProblem('a'.repeat(64))).toBe('pattern');
    expect(identifierProblem("x'; drop table")).toBe('pattern');
    expect(identifierProblem('select')).toBe('reserved');
    expect(identifierProblem('postgres')).toBe('reserved');
    expect(identifierProblem('pg_stuff')).toBe('pg_prefix');
  });

  it('has the same reserved words as engine/src/params.rs', () => {
    const rust = readFileSync(resolve(process.cwd(), '../engine/src/params.rs'), 'utf8');
    const block = /const RESERVED: &\[&str\] = &\[([\s\S]*?)\];/.exec(rust)?.[1] ?? '';
    const words = [...block.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(words.length).toBeGreaterThan(50);
    expect([...RESERVED].sort()).toEqual([...new Set(words)].sort());
  });
});

describe('keyPrefixProblem', () => {
  it('uses the pattern of the Redis recipe, which puts the prefix into ~PREFIX*', () => {
    const recipe = readFileSync(resolve(process.cwd(), '../recipes/redis.rhai'), 'utf8');
    const declared = /name: "prefix".*?pattern: "([^"]+)"/s.exec(recipe)?.[1];
    expect(`^${declared}$`).toBe(KEY_PREFIX.source);
    expect(keyPrefixProblem('app:')).toBe(null);
    expect(keyPrefixProblem('')).toBe('empty');
    expect(keyPrefixProblem('*')).toBe('pattern');
  });
});
