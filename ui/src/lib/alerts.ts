/**
 * Alerts in the page's words: what an alert is about (its rule, subject and value, said in the
 * current language, as the control plane's notices say it in English), a rule's threshold with
 * its unit, and the mute lengths the page offers.
 */
import type { Alert, AlertChannel, AlertRule, AlertRuleId } from './api';
import { formatTime, said, t } from './i18n.svelte';

export const RULES: AlertRuleId[] = [
  'offline',
  'disk',
  'memory',
  'load',
  'service',
  'backup',
  'drill',
];

/** Mute lengths offered, in minutes: an hour, a day, a week. */
export const MUTE_MINUTES = [60, 1440, 10080] as const;

/** Why the alert's last notice was not delivered, each channel's failure in the page's words. */
export function deliveryText(a: Alert): string {
  const failures = a.deliveryFailures ?? [];
  if (failures.length === 0) return a.deliveryError ?? '';
  return failures
    .map((f) => {
      const error = said(f.messageCode, f.messageArgs, f.message);
      return f.channel
        ? t('alerts.deliveryFailedChannel', { channel: f.channel, error, tries: f.tries })
        : error;
    })
    .join('; ');
}

/** A channel's last failure in the page's words. */
export function channelErrorText(c: AlertChannel): string {
  return said(c.lastErrorCode, c.lastErrorArgs, c.lastError ?? '');
}

function num(n: number, digits = 1): string {
  return new Intl.NumberFormat(document.documentElement.lang || 'en', {
    maximumFractionDigits: digits,
  }).format(n);
}

/** "Disk / is 93.7 % full (over 90 %)" — what the alert says, firing or past. */
export function alertText(a: Alert): string {
  return t(`alertWhat.${a.rule}`, {
    subject: a.subject,
    value: num(a.value, a.rule === 'load' ? 2 : 1),
    threshold: num(a.threshold),
  });
}

/** When it fired, and when it ended if it did. */
export function alertWhen(a: Alert): string {
  return a.resolvedAt === null
    ? t('alerts.since', { time: formatTime(a.firedAt) })
    : t('alerts.between', { from: formatTime(a.firedAt), to: formatTime(a.resolvedAt) });
}

/** The unit a rule's threshold counts in, for its field's label. */
export function thresholdUnit(r: AlertRule): string {
  return t(`alertRule.${r.id}.unit`);
}

/** A mute length, said: "1 hour", "1 day", "1 week". */
export function muteLength(minutes: number): string {
  return t(`alerts.mute.${minutes}` as 'alerts.mute.60');
}
