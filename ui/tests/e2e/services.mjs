// The Services card (issue 17), in Chromium against a control plane of its own with the
// repository's recipes and, with CAIRN_E2E_AGENT=1 (as root, under the machine lock), a real
// agent on this machine:
//
// - redis-server is listed as the redis recipe's service: Running, since a time, started at
//   boot; "Show log" brings the last lines of /var/log/redis/redis-server.log, lines of the
//   running daemon (redis writes its pid at the head of each), and those lines are nowhere in
//   the control plane's data directory afterwards;
// - stopped with its init script, it reads Stopped after a reload, with no start time;
// - the card offers no control (start, stop, …): those come with recipe actions.
//
// redis-server is left as it was found. Screenshot: ui/test-results/services.png.
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/services.mjs`.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assert,
  build,
  cleanup,
  launchBrowser,
  results,
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
      const card = page.getByTestId('services');
      for (const word of ['Start', 'Stop', 'Restart', 'Enable', 'Disable']) {
        const buttons = card.getByRole('button', { name: word, exact: true });
        assert((await buttons.count()) === 0, `the card offers "${word}", which does nothing yet`);
      }
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
    });
  } finally {
    if (wasRunning !== redisRunning()) redis(wasRunning ? 'start' : 'stop');
    await context.close();
  }
}

// Run alone.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  let failures = 0;
  const step = async (name, f) => {
    try {
      await f();
      console.log(`ok   ${name}`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    }
  };
  build({ agent: true });
  const browser = await launchBrowser();
  await servicesFlow({ browser, step, withAgent: process.env.CAIRN_E2E_AGENT === '1' });
  await browser.close();
  cleanup();
  process.exit(failures === 0 ? 0 : 1);
}
