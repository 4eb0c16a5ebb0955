// A database's second day on the page (issue 17), in Chromium against a control plane of its own
// with the repository's recipes and, with CAIRN_E2E_AGENT=1 (as root, under the machine lock), a
// real agent and this machine's PostgreSQL:
//
// - "Set up" PostgreSQL with a database and user of the test's own (installs and starts the
//   server if it is not there), and the card's fold lists that database with its owner;
// - "Delete a database" from Actions: the preview says it cannot be undone, "Confirm and run"
//   stays disabled until the database's name is typed again exactly, and only then does the
//   database go: psql no longer finds it and the card's list no longer shows it;
// - "Restart" on PostgreSQL's row of the Services card: the preview names the command, and
//   after the job the row's start time is later and the server still holds the database;
// - the user, owning nothing any more, is deleted the same way.
//
// PostgreSQL is left running or stopped as it was found. Screenshots:
// ui/test-results/db-list.png, db-drop-confirm.png.
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/dbday2.mjs`.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  assert,
  results,
  runAlone,
  signIn,
  startAgent,
  startControlPlane,
  waitFor,
} from './harness.mjs';

const postgresRunning = () =>
  spawnSync('pg_isready', ['-h', '/run/postgresql', '-p', '5432']).status === 0;

/** A query as the database superuser (root is mapped to it once the recipe has run). */
function psql(sql) {
  const r = spawnSync(
    'psql',
    ['-X', '-h', '/run/postgresql', '-U', 'postgres', '-d', 'postgres', '-tAc', sql],
    { encoding: 'utf8' },
  );
  assert(r.status === 0, `psql ${sql}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

export async function dbDay2Flow({ browser, step, withAgent }) {
  if (!withAgent) return;
  const password = 'e2e-db-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({ password });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);
  const wasRunning = postgresRunning();
  const suffix = Date.now().toString(36);
  const db = `e2e_day2_${suffix}`;
  const user = `e2e_day2_app_${suffix}`;
  const card = page.locator('[data-recipe=postgresql]');
  const plan = page.getByRole('dialog', { name: /What will change/ });
  const confirm = page.getByTestId('plan-confirm');
  const consoleText = async () => (await page.getByTestId('console').textContent()) ?? '';
  const listed = async (label) => {
    const fold = card.getByTestId('db-contents');
    if ((await fold.count()) === 0) return '';
    if ((await fold.getAttribute('open')) === null) await fold.locator('summary').click();
    const list = fold.getByRole('list', { name: label });
    return (await list.count()) === 0 ? '' : ((await list.textContent()) ?? '');
  };

  try {
    const token = await page.evaluate(async () => {
      const r = await fetch('/api/enrollment-tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'e2e-db-day2' }),
      });
      return (await r.json()).token;
    });
    const nodeId = token.split('.')[0];
    startAgent({ base, token, dir: join(dataDir, 'agent') });
    await page.goto(`${base}/nodes/${nodeId}`);
    await page.getByText('Connected').waitFor({ timeout: 30000 });

    await step(
      'databases: PostgreSQL set up from the page lists its database and owner',
      async () => {
        const setUp = card.getByRole('button', { name: /Set up|Retry|Add a database/ }).first();
        await waitFor(async () => !(await setUp.isDisabled()), 'the agent to be online', 60000);
        await setUp.click();
        const form = page.getByRole('dialog', { name: 'Set up PostgreSQL' });
        await form.getByLabel('Database name').fill(db);
        await form.getByLabel('User name').fill(user);
        await form.getByRole('button', { name: 'Preview changes' }).click();
        await waitFor(
          async () => (await plan.locator('.plan').getAttribute('aria-busy')) === 'false',
          'the plan',
          120000,
        );
        await confirm.click();
        await waitFor(
          async () => (await card.getByTestId('connection-string').count()) > 0,
          'the set-up to give a connection string',
          300000,
        );
        assert(
          psql(`SELECT datname FROM pg_database WHERE datname = '${db}'`) === db,
          'no database',
        );
        await page.reload();
        await waitFor(
          async () => (await listed('Databases')).includes(db),
          `the card to list ${db}`,
          60000,
        );
        const dbs = await listed('Databases');
        assert(dbs.includes(user), `the owner is not listed beside ${db}: ${dbs}`);
        await card.scrollIntoViewIfNeeded();
        await shot('db-list.png');
      },
    );

    const drop = async (action, param, value) => {
      await card.getByTestId('actions-open').click();
      const form = page.getByRole('dialog', { name: 'Actions — PostgreSQL' });
      await form.getByLabel('Action').selectOption(action);
      await form.getByTestId('actions-destructive').waitFor();
      await form.getByLabel(param, { exact: true }).fill(value);
      await form.getByTestId('actions-preview').click();
      await plan.waitFor();
      await plan.getByTestId('plan-destructive').waitFor({ timeout: 60000 });
      assert(await confirm.isDisabled(), 'Confirm is enabled before the name is typed');
      const input = plan.getByTestId('plan-confirm-input');
      for (const wrong of [value.slice(0, -1), value.toUpperCase(), `${value} `]) {
        await input.fill(wrong);
        assert(await confirm.isDisabled(), `Confirm is enabled with "${wrong}"`);
      }
      await input.fill(value);
      return input;
    };

    await step('databases: PostgreSQL restarted from the Services card starts anew', async () => {
      const row = page.locator('[data-testid=services] tr[data-service="postgresql"]');
      const sinceOf = async () =>
        Number((await row.getByTestId('service-since').getAttribute('data-since')) || 0);
      await waitFor(async () => (await sinceOf()) > 0, 'PostgreSQL to show a start time', 60000);
      const since = await sinceOf();
      // Start times are whole seconds.
      await waitFor(async () => Date.now() / 1000 > since + 1, 'a second to pass', 5000);
      await row.getByRole('button', { name: 'Restart: postgresql', exact: true }).click();
      await plan.waitFor();
      await waitFor(async () => !(await confirm.isDisabled()), 'the preview', 60000);
      const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
      assert(commands.includes('service postgresql restart'), `the preview shows: ${commands}`);
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(async () => (await sinceOf()) > since, 'the start time to change', 120000);
      assert(
        (await row.getByTestId('service-state').getAttribute('data-state')) === 'running',
        'not running after the restart',
      );
      assert(psql(`SELECT datname FROM pg_database WHERE datname = '${db}'`) === db, 'db gone');
    });

    await step('databases: a database is deleted only once its name is typed again', async () => {
      await drop('drop_database', 'Database name', db);
      assert(
        psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === '1',
        'gone early',
      );
      await shot('db-drop-confirm.png');
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(
        async () => (await consoleText()).includes('action drop_database done'),
        'the drop to run',
        120000,
      );
      assert(
        psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === '0',
        'still there',
      );
      await page.reload();
      await waitFor(
        async () => {
          const dbs = await listed('Databases');
          return dbs !== '' && !dbs.includes(db);
        },
        `the card to stop listing ${db}`,
        60000,
      );
    });

    await step('databases: the user, owning nothing now, is deleted the same way', async () => {
      await drop('drop_user', 'User name', user);
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(
        async () => (await consoleText()).includes('action drop_user done'),
        'the drop to run',
        120000,
      );
      assert(psql(`SELECT count(*) FROM pg_roles WHERE rolname = '${user}'`) === '0', 'user left');
    });
  } finally {
    // Leave nothing of the test's own, and the server as it was found.
    if (postgresRunning()) {
      spawnSync('psql', [
        '-X',
        '-h',
        '/run/postgresql',
        '-U',
        'postgres',
        '-c',
        `DROP DATABASE IF EXISTS ${db}`,
      ]);
      spawnSync('psql', [
        '-X',
        '-h',
        '/run/postgresql',
        '-U',
        'postgres',
        '-c',
        `DROP ROLE IF EXISTS ${user}`,
      ]);
    }
    if (!wasRunning && postgresRunning()) spawnSync('service', ['postgresql', 'stop']);
    await context.close();
  }
}

// Run alone.
await runAlone(import.meta.url, dbDay2Flow);
