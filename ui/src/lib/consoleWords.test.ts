import { afterEach, describe, expect, it } from 'vitest';
import type { Recipe } from './api';
import { rowsForEvent } from './console';
import { locale } from './i18n.svelte';

const redis = {
  id: 'redis',
  translations: {
    fr: {
      title: 'Redis',
      steps: { 'Create the ACL user ${user}': 'Créer l’utilisateur ACL ${user}' },
      messages: { 'Created the ACL user ${user}': 'Utilisateur ACL ${user} créé' },
    },
  },
} as unknown as Recipe;

const text = (rows: ReturnType<typeof rowsForEvent>) =>
  rows.map((r) => r.segments.map((s) => s.text).join('')).join('\n');

afterEach(() => {
  locale.lang = 'en';
});

describe('a recipe run in the console of a French page', () => {
  it('shows the recipe’s steps and its own lines in French', () => {
    locale.lang = 'fr';
    const step = rowsForEvent('JOB_STEP', 'j', { title: 'Create the ACL user app' }, redis);
    expect(text(step)).toBe('Créer l’utilisateur ACL app');
    const line = { message: 'Created the ACL user app', stream: 'info' };
    expect(text(rowsForEvent('INFRASTRUCTURE_LOG', 'j', line, redis))).toBe(
      'Utilisateur ACL app créé',
    );
  });
  it('says the agent’s and the engine’s own lines by their code', () => {
    locale.lang = 'fr';
    const line = {
      message: 'Installed redis-server 7.0',
      stream: 'info',
      messageCode: 'log.installed',
      messageArgs: { name: 'redis-server', version: '7.0' },
    };
    expect(text(rowsForEvent('INFRASTRUCTURE_LOG', 'j', line, redis))).toBe(
      'redis-server 7.0 installé',
    );
  });
  it('leaves a command’s output as the program printed it, even when it reads like a line', () => {
    locale.lang = 'fr';
    const out = { message: 'Created the ACL user app', stream: 'stdout' };
    expect(text(rowsForEvent('INFRASTRUCTURE_LOG', 'j', out, redis))).toBe(
      'Created the ACL user app',
    );
  });
});
