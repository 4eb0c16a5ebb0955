import { describe, expect, it } from 'vitest';
import { locale } from './i18n.svelte';
import {
  approvalPlan,
  confirmsWithdrawal,
  diffLines,
  isCompanion,
  mayCancel,
  readUpload,
  withdrawalPlanText,
  type WithdrawalPlan,
} from './submissions';

const file = (name: string, text: string) => ({ name, text: async () => text });

describe('submissions (issue 22)', () => {
  it('says what approval does and every capability the recipe gains', () => {
    const sub = { recipeId: 'redis', version: 7 };
    expect(approvalPlan(sub, ['program curl (downloads files)', 'path /etc/cron.d/x (…)'])).toBe(
      'Signs redis v7 and offers it to every server; it gains: program curl (downloads files), path /etc/cron.d/x (…).',
    );
    expect(approvalPlan(sub, [])).toBe(
      'Signs redis v7 and offers it to every server; it gains no capability.',
    );
    locale.lang = 'fr';
    expect(approvalPlan(sub, ['programme curl'])).toBe(
      'Signe redis v7 et la propose à tous les serveurs ; elle obtient : programme curl.',
    );
    locale.lang = 'en';
  });

  it('offers cancelling a pending submission to its own account and to admins only', () => {
    const mine = { state: 'pending' as const, submitter: 'olga' };
    expect(mayCancel(mine, 'olga', false)).toBe(true);
    expect(mayCancel(mine, 'pete', false)).toBe(false);
    expect(mayCancel(mine, null, false)).toBe(false);
    expect(mayCancel(mine, 'alice', true)).toBe(true);
    // An old row without a submitter is nobody's: only an admin may cancel it.
    expect(mayCancel({ state: 'pending', submitter: '' }, '', false)).toBe(false);
    for (const state of ['approved', 'rejected', 'superseded', 'withdrawn', 'cancelled'] as const) {
      expect(mayCancel({ state, submitter: 'olga' }, 'olga', true)).toBe(false);
    }
  });

  it('splits a unified diff into lines to colour', () => {
    const lines = diffLines('--- a v1\n+++ a v2\n@@ -1,2 +1,2 @@\n x\n-old\n+new\n');
    expect(lines.map((l) => l.kind)).toEqual(['head', 'head', 'hunk', 'same', 'del', 'add']);
    expect(lines[5].text).toBe('+new');
    expect(diffLines('')).toEqual([]);
  });

  it('reads one recipe and its companion files, and refuses anything else with a sentence', async () => {
    const upload = await readUpload([
      file('redis.conf.j2', 'port {{ port }}'),
      file('redis.rhai', 'const RECIPE = #{};'),
    ]);
    expect(upload).toEqual({
      source: 'const RECIPE = #{};',
      file: 'redis.rhai',
      files: { 'redis.conf.j2': 'port {{ port }}' },
    });
    await expect(readUpload([file('a.conf', 'x')])).rejects.toThrow(
      'Choose exactly one .rhai recipe file.',
    );
    await expect(readUpload([file('a.rhai', ''), file('b.rhai', '')])).rejects.toThrow(
      'exactly one',
    );
    await expect(readUpload([file('redis.rhai', ''), file('other.conf', '')])).rejects.toThrow(
      'other.conf is not a companion file of redis.rhai',
    );
    expect(isCompanion('redis.rhai', 'redis.conf.j2')).toBe(true);
    expect(isCompanion('redis.rhai', 'redisx.conf')).toBe(false);
  });

  it('says what a withdrawal publishes instead, and at which version, in both languages', () => {
    const plan: WithdrawalPlan = {
      recipeId: 'redis',
      fromVersion: 8,
      publishedAs: 9,
      restores: { kind: 'submission', id: 'sub-0123456789ab', version: 7 },
      diff: null,
    };
    expect(withdrawalPlanText(plan)).toBe(
      'Servers get redis v9: the content of sub-0123456789ab (v7) again, as v9 — servers refuse a version lower than v8, which they may have run. From their next job on; nothing runs now.',
    );
    expect(withdrawalPlanText({ ...plan, restores: { kind: 'shipped' } })).toContain(
      'the recipe shipped with Cairn again, as v9',
    );
    expect(withdrawalPlanText({ ...plan, publishedAs: null, restores: { kind: 'nothing' } })).toBe(
      'Nothing came before redis v8: the catalogue stops offering redis. Servers that installed it keep what they have; a new submission must be v9 or higher.',
    );
    locale.lang = 'fr';
    expect(withdrawalPlanText({ ...plan, restores: { kind: 'shipped' } })).toContain(
      'la recette livrée avec Cairn de nouveau, en v9',
    );
    locale.lang = 'en';
  });

  it('confirms a withdrawal only with the recipe id typed, as the control plane checks it', () => {
    expect(confirmsWithdrawal('redis', 'redis')).toBe(true);
    expect(confirmsWithdrawal('  redis ', 'redis')).toBe(true);
    expect(confirmsWithdrawal('Redis', 'redis')).toBe(false);
    expect(confirmsWithdrawal('redi', 'redis')).toBe(false);
    expect(confirmsWithdrawal('', 'redis')).toBe(false);
  });
});
