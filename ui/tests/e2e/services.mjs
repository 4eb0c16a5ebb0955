// The Services card (issue 17), in Chromium against a control plane of its own with the
// repository's recipes and, with CAIRN_E2E_AGENT=1 (as root, under the machine lock), a real
// agent on this machine:
//
// - redis-server is listed as the redis recipe's service: Running, since a time, started at
//   boot; "Show log" brings the last lines of /var/log/redis/redis-server.log, lines of the
//   running daemon (redis writes its pid at the head of each), and those lines are nowhere in
//   the control plane's data directory afterwards;
// - running, its row offers Stop, Restart and Disable at boot, and no Start;
// - stopped with its init script, it reads Stopped after a reload, with no start time, and
//   offers Start; Start on the page previews `service redis-server start`, runs it, and the row
//   reads Running again without a reload (the page asks for a status when the job ends);
// - Restart on the page (issue 17: "restart … from the page and see its state change"):
//   the preview shows `service redis-server restart` and restarts nothing; confirmed, the
//   row's start time changes.
//
// redis-server is left as it was found. Screenshots: ui/test-results/services.png and
// services-restart.png.
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/services.mjs`.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

const redisRunning = () => spawnSync('service', ['redis-server', 'status']).status === 0;
const redis = (action) => {
  const r = spawnSync('service', ['redis-server', action], { encoding: 'utf8' });
  assert(r.status === 0, `service redis-server ${action}: ${r.stdout}${r.stderr}`);
};

/** Every file under `dir`, as text (the control plane's database, key files, logs). */
function everyFile(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...everyFile(path));
    else out.push(readFileSync(path, 'latin1'));
  }
  return out;
}

export async function servicesFlow({ browser, step, withAgent }) {
  if (!withAgent) return;
  const password = 'e2e-services-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir, cp } = await startControlPlane({ password });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, base, password);
  const wasRunning = redisRunning();
  const row = page.locator('[data-testid=services] tr[data-service="redis-server"]');
  const control = (word) => row.getByRole('button', { name: `${word}: redis-server`, exact: true });
  const state = () => row.getByTestId('service-state').getAttribute('data-state');
  const sinceOf = async () =>
    Number((await row.getByTestId('service-since').getAttribute('data-since')) || 0);
  const plan = page.getByRole('dialog', { name: /What will change/ });
  const confirm = page.getByTestId('plan-confirm');

  try {
    const token = await page.evaluate(async () => {
      const r = await fetch('/api/enrollment-tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'e2e-services' }),
      });
      return (await r.json()).token;
    });
    const nodeId = token.split('.')[0];
    startAgent({ base, token, dir: join(dataDir, 'agent') });
    const nodePage = `${base}/nodes/${nodeId}`;

    await step('services: redis-server is running since a time, starts at boot', async () => {
      if (!wasRunning) redis('start');
      await page.goto(nodePage);
      await page.getByRole('heading', { name: 'Services', exact: true }).waitFor();
      await row.waitFor({ timeout: 60000 });
      await waitFor(
        async () =>
          (await row.getByTestId('service-state').getAttribute('data-state')) === 'running',
        'redis-server to read Running',
        30000,
      );
      assert((await row.getByText('Running').count()) === 1, 'the state is not in words');
      const since = (await row.getByTestId('service-since').textContent())?.trim();
      assert(since && since !== '—' && /\d/.test(since), `no start time: ${since}`);
      assert((await row.getByTestId('service-boot').textContent())?.trim() === 'Yes', 'boot');
      assert((await row.getByText('Declared by redis').count()) === 1, 'no recipe named');
      for (const word of ['Stop', 'Restart', 'Disable at boot']) {
        assert((await control(word).count()) === 1, `the running service offers no "${word}"`);
      }
      assert((await control('Start').count()) === 0, 'a running service offers Start');
    });

    await step('services: "Show log" shows the last lines of redis-server’s log file', async () => {
      const pid = readFileSync('/run/redis/redis-server.pid', 'utf8').trim();
      await row.getByRole('button', { name: 'Show log' }).click();
      const log = page.getByTestId('service-log');
      await log.locator('pre').waitFor({ timeout: 30000 });
      await log.getByText('of /var/log/redis/redis-server.log').waitFor();
      const lines = ((await log.locator('pre').textContent()) ?? '').split('\n');
      assert(lines.length > 0 && lines.length <= 50, `${lines.length} lines`);
      assert(
        lines.some((l) => l.startsWith(`${pid}:`)),
        `no line of the running redis-server (pid ${pid}) in: ${lines.slice(-5).join(' | ')}`,
      );
      await page.getByTestId('services').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(results, 'services.png'), fullPage: true });
      // Shown to this page only: not in the control plane's files (database, its own log).
      const last = lines.filter((l) => l.length > 20).at(-1) ?? '';
      assert(last, 'no long line to look for');
      const text = [...everyFile(join(dataDir, 'cp')), cp.stderr()].join('\n');
      assert(!text.includes(last), `a log line reached the control plane's disk: ${last}`);
      await row.getByRole('button', { name: 'Hide log' }).click();
      await waitFor(async () => (await log.count()) === 0, 'the log to be hidden');
    });

    await step('services: stopped with its init script, redis-server reads Stopped', async () => {
      redis('stop');
      await page.reload();
      await waitFor(
        async () =>
          (await row.getByTestId('service-state').getAttribute('data-state')) === 'stopped',
        'redis-server to read Stopped',
        60000,
      );
      assert((await row.getByText('Stopped').count()) === 1, 'the state is not in words');
      assert((await row.getByTestId('service-since').textContent())?.trim() === '—', 'a since');
      assert((await control('Start').count()) === 1, 'a stopped service offers no Start');
      assert((await control('Stop').count()) === 0, 'a stopped service offers Stop');
    });

    await step(
      'services: Start on the page previews the command, runs it, and reads Running',
      async () => {
        await control('Start').click();
        await plan.waitFor();
        await waitFor(async () => !(await confirm.isDisabled()), 'the preview', 60000);
        const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
        assert(commands.includes('service redis-server start'), `the preview shows: ${commands}`);
        assert(!redisRunning(), 'the preview started redis-server');
        await confirm.click();
        await plan.waitFor({ state: 'detached' });
        await waitFor(async () => (await state()) === 'running', 'the row to read Running', 60000);
        assert(redisRunning(), 'the page says Running; the init script disagrees');
        const text = (await page.getByTestId('console').textContent()) ?? '';
        assert(
          text.includes('service redis-server start'),
          'the console does not show the command',
        );
      },
    );

    await step('services: Restart on the page changes the start time the row shows', async () => {
      const since = await sinceOf();
      assert(since > 0, 'no start time before the restart');
      const shown = await row.getByTestId('service-since').textContent();
      // Start times are whole seconds: a restart within the second of the start would not show.
      await waitFor(async () => Date.now() / 1000 > since + 1, 'a second to pass', 5000);
      await control('Restart').click();
      await plan.waitFor();
      await waitFor(async () => !(await confirm.isDisabled()), 'the preview', 60000);
      const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
      assert(commands.includes('service redis-server restart'), `the preview shows: ${commands}`);
      assert((await sinceOf()) === since, 'the preview changed the start time');
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(async () => (await sinceOf()) > since, 'the start time to change', 60000);
      assert((await state()) === 'running', 'not running after the restart');
      const after = await row.getByTestId('service-since').textContent();
      assert(after !== shown, `the row still shows ${after}`);
      await page.getByTestId('services').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(results, 'services-restart.png'), fullPage: true });
    });
  } finally {
    if (wasRunning !== redisRunning()) redis(wasRunning ? 'start' : 'stop');
    await context.close();
  }
}

// Run alone.
await runAlone(import.meta.url, servicesFlow);
