// French that is French (issue 15, item 9): with the page in French, no sentence Cairn writes in
// English shows on the pages — neither the dashboard's own (every value of the English
// dictionary that French translates differently) nor the recipes' (each recipe's title,
// description, labels and step titles that its French translation changes). Data stays as it
// is (names, versions, paths, commands): only Cairn's own words are looked for.
//
// `frenchServerFlow` looks for the servers' English, as the control plane serves it, on a
// control plane of its own (the shipped recipes and three test recipes, `words`, `fails` and
// `throws`):
// the catalogue's powers (the engine's words for each program and path), an API error on the
// error page, and, with a real agent (CAIRN_E2E_AGENT=1, as root), a recipe run's steps and lines
// in the live console and on its job's page, a failed job's sentence (the engine's), and a
// failure the recipe threw (its own French, its part filled), on its card and job page. Each
// English sentence is taken from the API, so a translation taken away shows as English here.
// Screenshots: french-catalogue.png, french-error.png, french-job.png, french-failed-job.png,
// french-thrown-failure.png.

import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  results,
  root,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  ui,
  waitFor,
} from './harness.mjs';

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

/** Every text of the page, the console's and the code's too (what the servers wrote there). */
function allText(page) {
  return page.evaluate(() => document.body.innerText.replace(/\s+/g, ' '));
}

/** The sentences in `english` found in `text` (as written, or capitalised as the page does). */
function shown(text, english) {
  const lower = text.toLowerCase();
  return english.filter((e) => e && lower.includes(e.toLowerCase()));
}

export async function frenchServerFlow({ browser, step, withAgent }) {
  const password = 'e2e-french-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const recipes = tempDir('cairn-e2e-french-recipes-');
  for (const f of readdirSync(join(root, 'recipes'))) {
    cpSync(join(root, 'recipes', f), join(recipes, f));
  }
  for (const f of ['words.rhai', 'fails.rhai', 'throws.rhai']) {
    cpSync(join(root, 'tests/recipes', f), join(recipes, f));
  }
  const { base, dataDir } = await startControlPlane({ password, recipes });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);
  const api = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);
  await page.getByLabel('Language').selectOption('fr');

  await step('in French, the catalogue says no program’s or path’s power in English', async () => {
    const catalogue = await api('/api/recipes');
    assert(
      catalogue.every((r) => r.published),
      `unpublished: ${catalogue.filter((r) => !r.published).map((r) => `${r.id}: ${r.error}`)}`,
    );
    const powers = catalogue.flatMap((r) => [...r.programs, ...r.paths]);
    assert(powers.length > 40, `only ${powers.length} powers`);
    await page.goto(`${base}/recipes`);
    await page.getByRole('heading', { name: /^Mots/ }).waitFor();
    const text = await allText(page);
    const english = shown(
      text,
      powers.map((p) => p.power),
    );
    assert(english.length === 0, `English powers on the French catalogue:\n${english.join('\n')}`);
    assert(text.includes('décompresse des archives dans /opt/cairn/go'), 'no French power');
    await shot('french-catalogue.png');
  });

  await step('in French, an API error on the error page is French', async () => {
    const r = await page.evaluate(async () => {
      const res = await fetch('/api/jobs/job-that-does-not-exist');
      return res.json();
    });
    assert(r.code === 'http.noJob', `no code: ${JSON.stringify(r)}`);
    await page.goto(`${base}/jobs/job-that-does-not-exist`);
    await page.getByRole('alert').waitFor();
    const text = await allText(page);
    assert(shown(text, [r.error]).length === 0, `English on the error page: ${r.error}`);
    assert(text.includes('pas de tâche avec cet identifiant'), `not French: ${text}`);
    await shot('french-error.png');
  });

  if (!withAgent) {
    await context.close();
    return;
  }

  const token = await page.evaluate(async () => {
    const r = await fetch('/api/enrollment-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-french' }),
    });
    return (await r.json()).token;
  });
  const nodeId = token.split('.')[0];
  startAgent({ base, token, dir: join(dataDir, 'agent') });
  const card = (id) => page.locator(`[data-recipe=${id}]`);
  const install = async (id) => {
    const button = card(id).getByRole('button', { name: 'Installer' });
    await waitFor(async () => !(await button.isDisabled()), 'the agent to be online', 30000);
    await button.click();
    const plan = page.getByRole('dialog', { name: /Ce qui va changer/ });
    await plan.waitFor();
    await waitFor(
      async () => !(await page.getByTestId('plan-confirm').isDisabled()),
      'the plan',
      60000,
    );
    await page.getByTestId('plan-confirm').click();
    await plan.waitFor({ state: 'detached' });
  };
  /** The English a job's events carry: its steps, its recipe's lines and its failure. */
  const englishOf = async (job) => {
    const events = await api(`/api/jobs/${job.id}/events`);
    const own = events.filter(
      (e) =>
        e.type === 'JOB_STEP' ||
        (e.type === 'INFRASTRUCTURE_LOG' && ['info', 'warn'].includes(e.payload.stream)),
    );
    const words = own.map((e) => e.payload.title ?? e.payload.message);
    if (job.result?.message) words.push(job.result.message);
    return words;
  };
  const jobOf = async (recipe, status) => {
    let job;
    await waitFor(
      async () => {
        job = (await api(`/api/jobs?node=${nodeId}`)).find(
          (j) => j.recipe === recipe && j.kind !== 'PLAN_REQUEST',
        );
        return job?.status === status;
      },
      `the ${recipe} job to be ${status}`,
      60000,
    );
    return job;
  };

  await step(
    'in French, a recipe run’s steps and lines are French, live and on its page',
    async () => {
      await page.goto(`${base}/nodes/${nodeId}`);
      await install('words');
      const job = await jobOf('words', 'succeeded');
      const english = await englishOf(job);
      assert(english.length >= 4, `only ${english.length} sentences of the recipe: ${english}`);
      // The live console, as the run streamed in.
      await page.getByText('Mots de the second step vérifiés').first().waitFor();
      const live = shown(await allText(page), english);
      assert(live.length === 0, `English in the live console:\n${live.join('\n')}`);
      await page.goto(`${base}/jobs/${job.id}`);
      await page.getByText('Écrire les mots de the second step').waitFor();
      const stored = shown(await allText(page), english);
      assert(stored.length === 0, `English on the job's page:\n${stored.join('\n')}`);
      await shot('french-job.png');
    },
  );

  await step('in French, a failed job says the engine’s sentence in French', async () => {
    await page.goto(`${base}/nodes/${nodeId}`);
    await install('fails');
    const job = await jobOf('fails', 'failed');
    assert(job.result?.messageCode === 'job.commandFailed', JSON.stringify(job.result));
    const english = await englishOf(job);
    await page.goto(`${base}/jobs/${job.id}`);
    await page.getByTestId('failure').waitFor();
    const text = await allText(page);
    const found = shown(text, english);
    assert(found.length === 0, `English on the failed job's page:\n${found.join('\n')}`);
    assert(text.includes('a échoué avec le code de sortie 1'), `not French: ${text}`);
    await shot('french-failed-job.png');
  });

  await step('in French, a failure the recipe threw says the recipe’s French', async () => {
    await page.goto(`${base}/nodes/${nodeId}`);
    await install('throws');
    const job = await jobOf('throws', 'failed');
    const thrown = 'This run refuses on purpose, after a command that exited with code 1';
    // The engine sends the thrown sentence as it is, without a code the page could know.
    assert(job.result?.message === thrown, JSON.stringify(job.result));
    assert(!job.result?.messageCode, JSON.stringify(job.result));
    const french = 'Cette exécution refuse exprès, après une commande sortie avec le code 1.';
    // The card on the node page, as the failure arrived live.
    await card('throws').getByTestId('failure').getByText(french).waitFor();
    await page.goto(`${base}/jobs/${job.id}`);
    await page.getByTestId('failure').waitFor();
    const text = await allText(page);
    const found = shown(text, [thrown, ...(await englishOf(job))]);
    assert(found.length === 0, `English on the failed job's page:\n${found.join('\n')}`);
    assert(text.includes(french), `not the recipe's French: ${text}`);
    await shot('french-thrown-failure.png');
  });
  await context.close();
}
