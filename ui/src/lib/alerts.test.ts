import { afterEach, describe, expect, it } from 'vitest';
import { alertText, MUTE_MINUTES, muteLength, RULES } from './alerts';
import type { Alert } from './api';
import { locale } from './i18n.svelte';
import { en } from './i18n/en';
import { fr } from './i18n/fr';

const disk: Alert = {
  id: 1,
  rule: 'disk',
  nodeId: 'node-1',
  nodeName: 'web-1',
  subject: '/',
  state: 'firing',
  value: 93.7,
  threshold: 90,
  firedAt: 1,
  resolvedAt: null,
  notified: true,
  muted: false,
  deliveryError: null,
};

describe('alerts in the page’s words', () => {
  afterEach(() => {
    locale.lang = 'en';
  });

  it('says a disk alert with its mount, value and threshold in English and in French', () => {
    expect(alertText(disk)).toBe('Disk / is 93.7 % full (over 90 %)');
    locale.lang = 'fr';
    expect(alertText(disk)).toContain('Le disque / est plein');
  });

  it('has every rule’s name, sentence and unit, and every mute length, in both languages', () => {
    const keys = [
      ...RULES.flatMap((r) => [`alertRule.${r}`, `alertWhat.${r}`, `alertRule.${r}.unit`]),
      ...MUTE_MINUTES.map((m) => `alerts.mute.${m}`),
      ...['firing', 'resolved', 'closed'].map((s) => `alertState.${s}`),
      ...['email', 'webhook', 'slack', 'discord', 'ntfy'].map((k) => `channelKind.${k}`),
    ];
    for (const k of keys) {
      expect(k in en, k).toBe(true);
      expect(k in fr, k).toBe(true);
    }
    expect(muteLength(1440)).toBe('1 day');
  });
});
