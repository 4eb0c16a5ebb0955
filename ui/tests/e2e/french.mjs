// French that is French (issue 15, item 9): with the page in French, no sentence Cairn writes in
// English shows on the pages — neither the dashboard's own (every value of the English
// dictionary that French translates differently) nor the recipes' (each recipe's title,
// description, labels and step titles that its French translation changes). Data stays as it
// is (names, versions, paths, commands): only Cairn's own words are looked for.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, ui } from './harness.mjs';

/** `'key': 'value'` pairs of an i18n file (values quoted with ' or ", possibly on the next line). */
function dictionary(file) {
  const text = readFileSync(join(ui, 'src/lib/i18n', file), 'utf8');
  const out = new Map();
  const re = /^\s*'([^']+)':\s*(?:\n\s*)?(['"])((?:\\.|(?!\2).)*)\2,/gm;
  for (const m of text.matchAll(re)) out.set(m[1], m[3].replace(/\\(.)/g, '$1'));
  return out;
}

/** The fixed parts of a sentence with `{placeholders}` that are long enough to be telling. */
function fragments(sentence) {
  return sentence
    .split(/\{\w+\}/)
    .map((s) => s.trim())
    .filter((s) => s.length >= 12);
}

/** English that French changes: the dashboard's sentences and the recipes' own words. */
export function englishOnly(recipes) {
  const en = dictionary('en.ts');
  const fr = dictionary('fr.ts');
  const words = new Set();
  for (const [key, value] of en) {
    if (fr.get(key) && fr.get(key) !== value) for (const f of fragments(value)) words.add(f);
  }
  for (const r of recipes) {
    const t = r.translations?.fr;
    if (!t) continue;
    const pairs = [[r.description, t.description]];
    for (const p of r.params ?? []) pairs.push([p.label, t.params?.[p.name]]);
    for (const [step, fr] of Object.entries(t.steps ?? {})) pairs.push([step, fr]);
    for (const [english, french] of pairs) {
      if (english && french && english !== french && english.length >= 12) words.add(english);
    }
  }
  return [...words];
}

/** The visible text of the page, with what is data rather than Cairn's words left out. */
async function pageText(page) {
  return page.evaluate(() => {
    const skip = 'pre, code, .mono, [data-testid=console], .console, input, textarea, option';
    const clone = document.body.cloneNode(true);
    for (const e of clone.querySelectorAll(skip)) e.remove();
    return clone.innerText;
  });
}

export async function frenchFlow({ page, step, shot, base, nodeId }) {
  await step('in French, no page shows a sentence Cairn writes in English', async () => {
    const recipes = await page.evaluate(async () => (await fetch('/api/recipes')).json());
    const english = englishOnly(recipes);
    assert(english.length > 150, `only ${english.length} English sentences to look for`);
    await page.goto(`${base}/`);
    await page.getByLabel('Language').selectOption('fr');
    const pages = ['/', '/recipes', '/jobs', '/audit'];
    if (nodeId) pages.push(`/nodes/${nodeId}`);
    const found = [];
    for (const path of pages) {
      await page.goto(`${base}${path}`);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(500);
      const text = await pageText(page);
      for (const e of english) if (text.includes(e)) found.push(`${path}: “${e}”`);
      if (path.startsWith('/nodes/')) await shot('french-server-settings.png');
      if (path === '/recipes') await shot('french-recipes.png');
    }
    await page.getByLabel('Langue').selectOption('en');
    assert(found.length === 0, `English on the French pages:\n${found.join('\n')}`);
  });
}
