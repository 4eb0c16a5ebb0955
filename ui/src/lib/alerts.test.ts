import { afterEach, describe, expect, it } from 'vitest';
import {
  alertText,
  channelErrorText,
  deliveryText,
  MUTE_MINUTES,
  muteLength,
  RULES,
} from './alerts';
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
  it('says why a notice was not delivered, each channel and each sentence, in French', () => {
    const failed: Alert = {
      ...disk,
      deliveryError: 'ops: could not connect to https://hooks.example/…x (tried 3 times)',
      deliveryFailures: [
        {
          channel: 'ops',
          tries: 3,
          message: 'could not connect to https://hooks.example/…x',
          messageCode: 'alerts.httpConnect',
          messageArgs: { address: 'https://hooks.example/…x' },
        },
      ],
    };
    expect(deliveryText(failed)).toBe(
      'ops: could not connect to https://hooks.example/…x (tried 3 times)',
    );
    locale.lang = 'fr';
    expect(deliveryText(failed)).toBe(
      'ops : impossible de se connecter à https://hooks.example/…x (3 essais)',
    );
    // An older alert's failure, stored without its parts, is shown as it was written.
    expect(deliveryText({ ...disk, deliveryError: 'ops: refused' })).toBe('ops: refused');
    const channel = {
      lastError: 'the channel has no SMTP host',
      lastErrorCode: 'alerts.noSmtpHost',
    } as Parameters<typeof channelErrorText>[0];
    expect(channelErrorText(channel)).toBe('le canal n’a pas de serveur SMTP');
  });
});
