// Job states and words (issue 15, items 6–8), in Chromium against a control plane of its own
// whose catalogue holds two test recipes: `ticks` (a tick every tenth of a second, here made to
// last minutes) and `progress` (a real `printf` printing a `\r` progress line, as dpkg and curl
// do). Without a real agent only the audit log's words and filter are checked; with one
// (CAIRN_E2E_AGENT=1, as root):
//
// - a running job is cancelled: "Cancelled" (not "Failed") on its card, in the node's history
//   and on the jobs page; the card shows its own last lines and links to the full log;
// - after a reload the card still offers Retry, which previews the same job again; Retry from
//   the jobs page does too;
// - a job waiting for dpkg's lock (held here by a python3; the `pv` test recipe's apt_install)
//   says so on its card instead of a moving progress bar, and is cancelled while it waits;
// - the `\r` progress line is rewritten in the console, marked, with no ␍ left;
// - the jobs page filters by status and text (a preview is no job: never listed) and the audit log
//   reads as words ("Signed in", "Install Ticks" on the server's name) and filters.
//
// Screenshot: ui/test-results/cancelled-job.png.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  clickInstall,
  results,
  root,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

export async function statesFlow({ browser, step, withAgent }) {
  const password = 'e2e-states-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const recipes = tempDir('cairn-e2e-states-recipes-');
  // Ticks lasting five minutes: long enough to be cancelled while it runs, whatever the load.
  const ticks = readFileSync(join(root, 'tests/recipes/ticks.rhai'), 'utf8');
  writeFileSync(
    join(recipes, 'ticks.rhai'),
    ticks.replace('default_value: 30', 'default_value: 3000'),
  );
  for (const name of ['progress', 'pv']) {
    writeFileSync(
      join(recipes, `${name}.rhai`),
      readFileSync(join(root, `tests/recipes/${name}.rhai`), 'utf8'),
    );
  }
  const { base, dataDir } = await startControlPlane({ password, recipes });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);

  await step('states: the audit log reads as words and filters by action', async () => {
    await page.goto(`${base}/audit`);
    await page.getByRole('cell', { name: 'Signed in' }).first().waitFor();
    assert((await page.getByRole('cell', { name: 'login', exact: true }).count()) === 0, 'a code');
  });

  if (!withAgent) {
    await context.close();
    return;
  }

  const nodeName = 'e2e-states';
  const token = await page.evaluate(async (name) => {
    const r = await fetch('/api/enrollment-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    return (await r.json()).token;
  }, nodeName);
  const nodeId = token.split('.')[0];
  startAgent({ base, token, dir: join(dataDir, 'agent') });
  const nodePage = `${base}/nodes/${nodeId}`;
  const card = (id) => page.locator(`[data-recipe=${id}]`);
  // The card's own sentence (its last lines say it too, as the console's row).
  const cancelledNote = (id) =>
    card(id).getByTestId('failure').getByText('The job was cancelled.', { exact: true });
  await page.goto(nodePage);
  await page.getByText('Connected').waitFor({ timeout: 30000 });
  await waitFor(
    async () => !(await card('ticks').getByRole('button', { name: 'Install' }).isDisabled()),
    'the agent to be online',
    30000,
  );

  // Install from a card: the plan first, then "Confirm and run" once the plan is there.
  async function installFrom(button) {
    await clickInstall(page, button);
    const plan = page.getByRole('dialog', { name: /What will change/ });
    await plan.waitFor();
    await waitFor(
      async () => !(await page.getByTestId('plan-confirm').isDisabled()),
      'the plan',
      60000,
    );
    await page.getByTestId('plan-confirm').click();
    await plan.waitFor({ state: 'detached' });
  }

  await step('states: a cancelled job reads Cancelled on its card and in the history', async () => {
    await installFrom(card('ticks').getByRole('button', { name: 'Install' }));
    // The card shows its own job's last lines while it runs.
    await waitFor(
      async () =>
        /tick \d+/.test((await card('ticks').getByTestId('card-tail').textContent()) ?? ''),
      'the card to show its last lines',
      60000,
    );
    const fullLog = card('ticks').getByRole('link', { name: 'Full log' });
    assert(/\/jobs\/job-/.test((await fullLog.getAttribute('href')) ?? ''), 'no full-log link');
    await card('ticks').getByRole('button', { name: 'Cancel' }).click();
    await cancelledNote('ticks').waitFor({ timeout: 30000 });
    assert((await card('ticks').locator('.error').count()) === 0, 'shown as an error');
    const row = page.getByTestId('node-history').locator('li').first();
    await waitFor(async () => (await row.textContent())?.includes('Cancelled'), 'the history');
    assert((await row.textContent())?.includes('Install Ticks'), await row.textContent());
    await shot('cancelled-job.png');
    await page.goto(`${base}/jobs`);
    const jobRow = page.locator('tr', { hasText: 'Install Ticks' }).first();
    await jobRow.waitFor();
    assert((await jobRow.textContent())?.includes('Cancelled'), await jobRow.textContent());
    assert(!(await jobRow.textContent())?.includes('Failed'), 'shown as failed');
    assert((await jobRow.textContent())?.includes(nodeName), 'the node is not named');
  });

  await step('states: after a reload, Retry on the card runs the same job again', async () => {
    await page.goto(nodePage);
    await cancelledNote('ticks').waitFor();
    await installFrom(card('ticks').getByRole('button', { name: 'Retry' }));
    await waitFor(
      async () =>
        /tick \d+/.test((await card('ticks').getByTestId('card-tail').textContent()) ?? ''),
      'the retried job to run',
      60000,
    );
    await card('ticks').getByRole('button', { name: 'Cancel' }).click();
    await cancelledNote('ticks').waitFor({ timeout: 30000 });
    const cancelled = page.getByTestId('node-history').locator('li', { hasText: 'Cancelled' });
    await waitFor(async () => (await cancelled.count()) === 2, 'two cancelled jobs');
  });

  await step('states: Retry from the jobs page opens the same job for confirmation', async () => {
    await page.goto(`${base}/jobs`);
    await page.getByTestId('retry').first().click();
    await page.waitForURL(/\/nodes\//);
    const plan = page.getByRole('dialog', { name: /What will change/ });
    await plan.waitFor();
    // Asked once: the address no longer asks for it, so a reload does not either.
    await waitFor(async () => !page.url().includes('retry='), 'the address to drop ?retry');
    await plan.getByRole('button', { name: 'Cancel' }).click();
  });

  await step(
    'states: a job waiting for the package manager says so, not a moving bar',
    async () => {
      const status = spawnSync('dpkg-query', ['-W', '-f', '${Status}', 'pv'], { encoding: 'utf8' });
      assert(!status.stdout.includes('install ok installed'), 'pv is installed: purge it first');
      // dpkg's own lock, taken as an unattended upgrade would.
      const holder = spawn('python3', [
        '-c',
        'import fcntl, sys\nf = open("/var/lib/dpkg/lock-frontend", "a")\n' +
          'fcntl.lockf(f, fcntl.LOCK_EX)\nprint("locked", flush=True)\nsys.stdin.read()',
      ]);
      try {
        await new Promise((resolve) => holder.stdout.once('data', resolve));
        await installFrom(card('pv').getByRole('button', { name: 'Install' }));
        const waiting = card('pv').getByTestId('waiting');
        await waiting.waitFor({ timeout: 60000 });
        const text = (await waiting.textContent()) ?? '';
        assert(text.includes('Waiting for the package manager'), text);
        assert(text.includes(`process ${holder.pid} (python3)`), text);
        assert((await card('pv').locator('progress').count()) === 0, 'a progress bar is shown');
        await shot('waiting-job.png');
        await card('pv').getByRole('button', { name: 'Cancel' }).click();
        await cancelledNote('pv').waitFor({ timeout: 30000 });
      } finally {
        holder.kill();
        // Should the job have gone on after all, leave the machine as it was.
        const after = spawnSync('dpkg-query', ['-W', '-f', '${Status}', 'pv'], {
          encoding: 'utf8',
        });
        if (after.stdout.includes('install ok installed')) {
          spawnSync('apt-get', ['purge', '-y', 'pv'], { stdio: 'ignore' });
        }
      }
    },
  );

  await step(
    'states: a \\r progress line is rewritten in the console, as a terminal does',
    async () => {
      await page.goto(nodePage);
      await installFrom(card('progress').getByRole('button', { name: 'Install' }));
      // The program's output row: rewritten to its last state, marked, with no ␍ box left.
      const output = page.getByTestId('console').locator('.row.tone-stdout');
      const row = output.and(page.locator('[data-rewritten=true]'));
      await row.first().waitFor({ timeout: 60000 });
      const text = ((await row.first().locator('.text').textContent()) ?? '').trim();
      assert(text === 'Downloading: [100%] done', `the row shows "${text}"`);
      const all = (await output.allTextContents()).join('\n');
      assert(!all.includes('␍'), 'a carriage return is shown as a box');
      assert(!all.includes('[ 10%]'), 'an overwritten state is still shown');
      await card('progress').getByText('Downloading: [100%] done').waitFor();
      await shot('console-carriage-return.png');
    },
  );

  await step('states: the jobs page filters by status and text and lists no preview', async () => {
    await page.goto(`${base}/jobs`);
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    await page.getByTestId('filter-status').selectOption('cancelled');
    // Ticks twice and Pipe Viewer while it waited.
    await waitFor(async () => (await rows.count()) === 3, 'three cancelled jobs');
    for (const r of await rows.all()) assert((await r.textContent())?.includes('Cancelled'), '');
    await page.getByTestId('filter-status').selectOption('');
    await page.getByTestId('filter-text').fill('progress');
    await waitFor(async () => (await rows.count()) === 1, 'one job named progress');
    assert((await rows.first().textContent())?.includes('Installed Progress'), 'job words');
    // Progress was previewed before it ran: a preview is no job, so it is not listed at all.
    assert((await page.getByText('Preview Progress').count()) === 0, 'a preview is listed');
  });

  await step('states: the audit log names the server and filters by it and by text', async () => {
    await page.goto(`${base}/audit`);
    const rows = page.locator('tbody tr');
    await page.getByRole('cell', { name: 'Install Ticks' }).first().waitFor();
    await page.getByTestId('filter-action').selectOption('signin');
    await waitFor(async () => (await rows.count()) >= 1, 'sign-ins');
    for (const r of await rows.all()) {
      assert((await r.textContent())?.includes('Signed in'), await r.textContent());
    }
    await page.getByTestId('filter-action').selectOption('');
    await page.getByTestId('filter-node').selectOption(nodeName);
    await waitFor(async () => (await rows.count()) >= 3, 'the server’s entries');
    for (const r of await rows.all()) {
      const text = (await r.textContent()) ?? '';
      assert(text.includes(nodeName) && !text.includes(nodeId), text);
    }
    await page.getByTestId('filter-text').fill('Cancelled: Install Ticks');
    await waitFor(async () => (await rows.count()) === 2, 'the two cancels');
    await shot('audit-filtered.png');
  });

  await context.close();
}
