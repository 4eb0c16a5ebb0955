/**
 * English and French. `t(key, vars)` reads the current language, so templates that call it
 * re-render when the user switches. A missing French string falls back to English.
 */

import { en } from './i18n/en';
import { fr } from './i18n/fr';

export type Lang = 'en' | 'fr';
export type Key = keyof typeof en;

const dictionaries: Record<Lang, Partial<Record<Key, string>>> = { en, fr };

function initial(): Lang {
  try {
    const saved = localStorage.getItem('cairn.lang');
    if (saved === 'en' || saved === 'fr') return saved;
    return navigator.language?.startsWith('fr') ? 'fr' : 'en';
  } catch {
    return 'en';
  }
}

export const locale = $state<{ lang: Lang }>({
  lang: typeof window === 'undefined' ? 'en' : initial(),
});

export function setLang(lang: Lang) {
  locale.lang = lang;
  try {
    localStorage.setItem('cairn.lang', lang);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  document.documentElement.lang = lang;
}

/** Keys built from a state name (`status.${state}`) are checked by the tests, not by tsc. */
type DynamicKey =
  `${'status' | 'jobStatus' | 'socket' | 'ident' | 'backup.field' | 'backup.help' | 'category' | 'auditGroup' | 'alertRule' | 'alertWhat' | 'alertFine' | 'alertState' | 'channelKind'}.${string}`;

export function t(key: Key | DynamicKey, vars: Record<string, string | number> = {}): string {
  const k = key as Key;
  const text: string = dictionaries[locale.lang][k] ?? en[k] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/**
 * A sentence of the control plane (or of the agent and the engine, which it relays) in the
 * current language: by its code (`said.CODE`, control-plane/src/said.rs) with its parts, else
 * the English `message` it came with (a sentence this page does not know).
 */
export function said(
  code: string | null | undefined,
  args: Record<string, string> | null | undefined,
  message: string,
): string {
  const key = `said.${code}`;
  return code && key in en ? t(key as Key, args ?? {}) : message;
}

/** The sentence of an event's payload (`message`, with `messageCode` and `messageArgs`). */
export function saidOf(payload: Record<string, unknown>): string {
  const code = typeof payload.messageCode === 'string' ? payload.messageCode : undefined;
  const args =
    payload.messageArgs && typeof payload.messageArgs === 'object'
      ? (payload.messageArgs as Record<string, string>)
      : undefined;
  return said(code, args, typeof payload.message === 'string' ? payload.message : '');
}

/** Unix seconds as a local date and time in the current language. */
export function formatTime(secs: number | null | undefined): string {
  if (!secs) return '—';
  return new Date(secs * 1000).toLocaleString(locale.lang === 'fr' ? 'fr-FR' : 'en-GB');
}

function numberLocale(): string {
  return locale.lang === 'fr' ? 'fr-FR' : 'en-GB';
}

/** A size in the current language: "1.3 GB", "1,3 Go" (powers of 1024, as `df -h` counts). */
export function formatBytes(n: number): string {
  const units =
    locale.lang === 'fr' ? ['o', 'ko', 'Mo', 'Go', 'To'] : ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  const digits = n >= 10 || i === 0 ? 0 : 1;
  const number = new Intl.NumberFormat(numberLocale(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(n);
  return `${number} ${units[i]}`;
}

/** A share from 0 to 100 as the current language writes it: "85%", "85 %". */
export function formatPercent(n: number): string {
  return new Intl.NumberFormat(numberLocale(), {
    style: 'percent',
    maximumFractionDigits: 0,
  }).format(n / 100);
}

export function formatDuration(secs: number): string {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const j = locale.lang === 'fr' ? 'j' : 'd';
  return d > 0 ? `${d}${j} ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}
