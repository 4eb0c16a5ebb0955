// A recipe's declared actions (issue 17), in Chromium against a control plane of its own whose
// catalogue holds the test recipe `shelf` (tests/recipes/shelf.rhai: boxes as files under a temp
// folder). Without a real agent only the catalogue is checked; with one (CAIRN_E2E_AGENT=1, as
// root), on the Server Settings page:
//
// - "Actions" on the Shelf card: "Add a box" with its own parameters (one of them secret),
//   previewed, run, its lines in the live console, the box made on disk;
// - "Remove a box" is destructive: the form says so, the preview lists the command that removes
//   the box, "Confirm and run" stays disabled until the box's name is typed again exactly, and
//   only then does it run and the box go.
//
// Screenshots: ui/test-results/action-form.png, action-destructive-confirm.png, action-done.png.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  results,
  root,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

export async function actionsFlow({ browser, step, withAgent }) {
  const password = 'e2e-actions-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const recipes = tempDir('cairn-e2e-actions-recipes-');
  const dir = tempDir('cairn-e2e-actions-shelf-');
  mkdirSync(join(dir, 'shelf'));
  const shelf = readFileSync(join(root, 'tests/recipes/shelf.rhai'), 'utf8');
  writeFileSync(join(recipes, 'shelf.rhai'), shelf.replaceAll('@DIR@', dir));
  const { base, dataDir } = await startControlPlane({ password, recipes });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);

  await step('actions: the catalogue lists the shelf recipe with its actions', async () => {
    const r = await page.request.get(`${base}/api/recipes`);
    const shelfEntry = (await r.json()).find((x) => x.id === 'shelf');
    assert(shelfEntry?.published, `shelf is not published: ${shelfEntry?.error}`);
    const names = (shelfEntry.actions ?? []).map((a) => a.name).join(',');
    assert(names === 'add_box,remove_box', `actions: ${names}`);
  });

  if (!withAgent) {
    await context.close();
    return;
  }

  const token = await page.evaluate(async () => {
    const r = await fetch('/api/enrollment-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-actions' }),
    });
    return (await r.json()).token;
  });
  const nodeId = token.split('.')[0];
  startAgent({ base, token, dir: join(dataDir, 'agent') });
  await page.goto(`${base}/nodes/${nodeId}`);
  await page.getByText('Connected').waitFor({ timeout: 30000 });
  const card = page.locator('[data-recipe=shelf]');
  const open = card.getByTestId('actions-open');
  await waitFor(async () => !(await open.isDisabled()), 'the agent to be online', 30000);
  const form = page.getByRole('dialog', { name: 'Actions — Shelf' });
  const plan = page.getByRole('dialog', { name: /What will change/ });
  const confirm = page.getByTestId('plan-confirm');
  const consoleText = async () => (await page.getByTestId('console').textContent()) ?? '';
  const box = join(dir, 'shelf', 'toys');

  await step(
    'actions: "Add a box" is previewed, run, and its lines are in the console',
    async () => {
      await open.click();
      await form.getByLabel('Action').selectOption('add_box');
      await form.getByLabel('Box', { exact: true }).fill('toys');
      await form.getByLabel('Lock code').fill('opensesame-e2e');
      await shot('action-form.png');
      await form.getByTestId('actions-preview').click();
      await plan.waitFor();
      await waitFor(async () => !(await confirm.isDisabled()), 'the plan', 60000);
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(
        async () => (await consoleText()).includes('Added the box toys'),
        'the action to run',
        60000,
      );
      assert(existsSync(box), 'the box was not made');
      assert(!(await consoleText()).includes('opensesame-e2e'), 'the secret is in the console');
    },
  );

  await step('actions: a destructive action runs only once the name is typed again', async () => {
    await open.click();
    await form.getByLabel('Action').selectOption('remove_box');
    await form.getByTestId('actions-destructive').waitFor();
    await form.getByLabel('Box', { exact: true }).fill('toys');
    await form.getByTestId('actions-preview').click();
    await plan.waitFor();
    await plan.getByTestId('plan-destructive').waitFor({ timeout: 60000 });
    const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
    assert(commands.includes(`rm -f ${box}`), `the preview does not name what goes: ${commands}`);
    assert(await confirm.isDisabled(), 'Confirm is enabled before the name is typed');
    const input = plan.getByTestId('plan-confirm-input');
    for (const wrong of ['toy', 'Toys', 'books']) {
      await input.fill(wrong);
      assert(await confirm.isDisabled(), `Confirm is enabled with "${wrong}"`);
    }
    assert(existsSync(box), 'the box went before the confirmation');
    await input.fill('toys');
    await shot('action-destructive-confirm.png');
    assert(!(await confirm.isDisabled()), 'Confirm stays disabled with the right name');
    await confirm.click();
    await plan.waitFor({ state: 'detached' });
    await waitFor(
      async () => (await consoleText()).includes('Removed the box toys'),
      'the removal to run',
      60000,
    );
    await waitFor(async () => !existsSync(box), 'the box to go', 10000);
    await waitFor(
      async () => (await consoleText()).includes('action remove_box done'),
      'the console to say the action is done',
    );
    assert(!(await consoleText()).includes('is installed'), 'the console claims an install');
    const row = page.getByTestId('node-history').locator('li', { hasText: 'remove_box' });
    await waitFor(
      async () => (await row.textContent())?.includes('action remove_box'),
      'the history to name the action',
    );
    await shot('action-done.png');
  });

  await context.close();
}
