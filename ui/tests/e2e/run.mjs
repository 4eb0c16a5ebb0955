// End-to-end test of the dashboard against the real control plane, in Debian's Chromium.
//
// Builds the control plane (cargo) and the UI if needed, starts the control plane on a free
// loopback port with a temporary data directory, then drives the dashboard: sign in, the node
// list, "Connect node" and its install command, the language switch, the recipe catalogue and
// the audit log, at desktop width and at 375 px; then the browser hardening (hardening.mjs: no
// framing by another site, injected inline scripts blocked) and the error page (errors.mjs).
// With CAIRN_E2E_AGENT=1 (as root) it also enrolls a real agent, sets up Redis (redis.mjs: no
// access without a password afterwards) and installs Ruby and Go (runtimes.mjs) through the
// Server Settings page. publish.mjs: a recipe uploaded, reviewed with its diff and approved in
// the catalogue, a grown v2 pending, an operator offered no decision (issue 22). twofactor.mjs: a viewer invited, enrolled in two-factor sign-in, signed in
// with a code, offered no job and refused a crafted one (issue 20).
//
// Screenshots go to ui/test-results/. Exit code 0 only if every step passed.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  build,
  cleanup,
  launchBrowser,
  results,
  run,
  start,
  startControlPlane,
  waitFor,
  bin,
} from './harness.mjs';
import { actionsFlow } from './actions.mjs';
import { backupFlow } from './backups.mjs';
import { backupDay2Flow } from './backupday2.mjs';
import { connectFlow } from './connect.mjs';
import { dbContentsFlow } from './dbcontents.mjs';
import { dbDay2Flow } from './dbday2.mjs';
import { detectionFlow } from './detection.mjs';
import { errorFlow } from './errors.mjs';
import { frenchFlow, frenchServerFlow } from './french.mjs';
import { hardeningFlow } from './hardening.mjs';
import { nodesFlow } from './nodes.mjs';
import { twoFactorFlow } from './twofactor.mjs';
import { publishFlow } from './publish.mjs';
import { planFlow } from './plans.mjs';
import { purgeRuntimes, runtimeFlow } from './runtimes.mjs';
import { redisFlow } from './redis.mjs';
import { restoreFlow } from './restore.mjs';
import { servicesFlow } from './services.mjs';
import { statesFlow } from './states.mjs';
import { alertsFlow } from './alerts.mjs';
import { metricsFlow } from './metrics.mjs';

const password = 'e2e-' + Math.random().toString(36).slice(2) + '-Passw0rd';
const withAgent = process.env.CAIRN_E2E_AGENT === '1';
let failures = 0;

async function step(name, f) {
  const started = Date.now();
  try {
    await f();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
  }
}

build({ agent: withAgent });
// CAIRN_E2E_RECIPES: another recipes directory (default: the repository's recipes/).
const { base, dataDir, cp } = await startControlPlane({
  password,
  recipes: process.env.CAIRN_E2E_RECIPES,
});

// --- the browser -----------------------------------------------------------------------
const browser = await launchBrowser();
const context = await browser.newContext({
  viewport: { width: 1280, height: 900 },
  locale: 'en-GB',
});
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = await context.newPage();
const pageErrors = [];
// Console errors a step causes on purpose (a refused request's status), while it runs.
const expectedErrors = new Set();
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  const where = `${m.text()} at ${m.location()?.url ?? ''}`;
  const expected = [...expectedErrors].some((re) => re.test(where));
  if (m.type() === 'error' && !expected && !/401|Unauthorized/.test(m.text())) {
    pageErrors.push(m.text());
  }
});
const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });

let installCommand = '';

await step('an unsigned visit is sent to the sign-in page', async () => {
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
});

await step('a wrong password is refused with the server sentence', async () => {
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
  await shot('login-error.png');
});

await step('signing in shows the node list', async () => {
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
  await page.getByRole('heading', { name: 'Nodes' }).waitFor();
  await page.getByText('No node yet').waitFor();
  await shot('nodes-empty.png');
});

await step('"Connect node", reached by keyboard, shows the install command with Copy', async () => {
  const button = page.getByRole('button', { name: 'Connect node' });
  // Tab from the top until the button has focus: it must be reachable without a mouse.
  await page.locator('body').focus();
  for (let i = 0; i < 15 && !(await button.evaluate((b) => b === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  assert(
    await button.evaluate((b) => b === document.activeElement),
    'Connect node is not reachable with Tab',
  );
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Connect a node' });
  await dialog.waitFor();
  await dialog.getByLabel('Name for the server').fill('e2e-web-1');
  await dialog.getByRole('button', { name: 'Create install command' }).click();
  const cmd = dialog.getByTestId('install-command');
  await cmd.waitFor();
  installCommand = (await cmd.textContent()) ?? '';
  assert(installCommand.includes(`${base}/install.sh`), `unexpected command: ${installCommand}`);
  assert(
    /--token node-[0-9a-f]+\.[0-9a-f]{64}/.test(installCommand),
    `no token in: ${installCommand}`,
  );
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog.getByRole('button', { name: 'Copied' }).waitFor();
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert(clip === installCommand, 'the clipboard does not hold the command');
  await shot('connect-node.png');
  await dialog.getByRole('button', { name: 'Done' }).click();
  // A node is listed once its agent has enrolled, not when its token is made.
  await page.getByText('No node yet').waitFor();
});

await connectFlow({ page, step, shot, base, expectedErrors });

await step('French switch', async () => {
  await page.getByLabel('Language').selectOption('fr');
  await page.getByRole('heading', { name: 'Serveurs' }).waitFor();
  await page.getByRole('button', { name: 'Connecter un serveur' }).waitFor();
  await page.getByLabel('Langue').selectOption('en');
  await page.getByRole('heading', { name: 'Nodes' }).waitFor();
});

await step('recipe catalogue shows the signed Redis recipe', async () => {
  await page.getByRole('link', { name: 'Recipes' }).click();
  await page.getByRole('heading', { name: /Redis/ }).waitFor();
  const text = await page.locator('main').textContent();
  assert(/Signature fingerprint\s*[0-9a-f]{64}/.test(text ?? ''), 'no fingerprint shown');
  assert(text?.includes('redis-server'), 'capabilities not shown');
  await shot('recipes.png');
});

await step('recipe catalogue says what each declared program can be made to do', async () => {
  await page.getByRole('heading', { name: /^Go/ }).waitFor();
  const text = (await page.locator('main').textContent()) ?? '';
  assert(text.includes('tar: extracts archives into /opt/cairn/go'), 'tar power not shown');
  assert(/go: its own program .*runs anything, as root/.test(text), 'own program not shown');
});

await step('audit log lists the sign-ins and the token', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'Connect command created' }).first().waitFor();
  await page.getByRole('cell', { name: 'Public address changed' }).first().waitFor();
  await page.getByRole('cell', { name: 'Signed in' }).first().waitFor();
});

await step('usable at 375 px: no sideways scrolling, install command wraps', async () => {
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of ['/', '/recipes', '/audit', '/jobs']) {
    await page.goto(base + path);
    await page.locator('main h1').first().waitFor();
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 375, `${path} is ${width}px wide at 375px`);
  }
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Connect node' }).click();
  await page.getByLabel('Name for the server').fill('e2e-phone');
  await page.getByRole('button', { name: 'Create install command' }).click();
  await page.getByTestId('install-command').waitFor();
  await shot('connect-node-375.png');
  await page.getByRole('button', { name: 'Done' }).click();
  await shot('nodes-375.png');
  await page.setViewportSize({ width: 1280, height: 900 });
});

await hardeningFlow({ browser, base, password, step });
await errorFlow({ browser, base, password, step });
await statesFlow({ browser, step, withAgent });
await servicesFlow({ browser, step, withAgent });
await dbDay2Flow({ browser, step, withAgent });
await frenchServerFlow({ browser, step, withAgent });
await actionsFlow({ browser, step, withAgent });
await nodesFlow({ browser, step, withAgent });
await twoFactorFlow({ browser, step, withAgent });
await publishFlow({ browser, step });
await restoreFlow({ browser, step, withAgent });
await backupDay2Flow({ browser, step, withAgent });
await alertsFlow({ browser, step, withAgent });
await metricsFlow({ browser, step, withAgent });

if (withAgent) {
  await agentFlow();
} else {
  await frenchFlow({ page, step, shot, base });
}

await step('no script error and no CSP violation in the page', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
});

await browser.close();
cleanup();
console.log(failures === 0 ? '\nall e2e steps passed' : `\n${failures} e2e step(s) failed`);
if (failures) console.log(cp.stderr().slice(-4000));
process.exit(failures === 0 ? 0 : 1);

// --- with a real agent -----------------------------------------------------------------
async function agentFlow() {
  const token = /--token (\S+)/.exec(installCommand)?.[1] ?? '';
  const agentDir = join(dataDir, 'agent');
  let nodeId = token.split('.')[0];

  await step('Ruby and Go are not installed (purged first)', async () => {
    purgeRuntimes();
  });

  await step('a real agent enrolls and shows as online', async () => {
    assert(token, 'no token from the Connect node step');
    run(bin('cairn-agent'), ['enroll', '--url', base, '--token', token, '--config', agentDir]);
    start(bin('cairn-agent'), ['run', '--config', agentDir], { CAIRN_LOG: 'warn' });
    await page.goto(`${base}/`);
    await waitFor(
      async () => {
        await page.reload();
        return (await page.getByText('Online').count()) > 0;
      },
      'the node to be online',
      30000,
    );
  });

  await step('Server Settings shows the info bar and the Redis card', async () => {
    await page.goto(`${base}/nodes/${nodeId}`);
    await page.getByRole('heading', { name: /Server Settings/ }).waitFor();
    await page.getByText('Connected').waitFor();
    await waitFor(
      async () => (await page.locator('.info-bar dd.mono').textContent()) !== '—',
      'the server status',
    );
    await page.locator('[data-recipe=redis]').waitFor();
    await shot('server-settings.png');
  });

  await planFlow({ page, step, base, nodeId });
  await redisFlow({ page, step, shot });
  await dbContentsFlow({ page, step, shot });

  const redisUser = `cache${Date.now().toString(36)}`;
  await step('Redis set up: plan preview, live lines, one-time connection string', async () => {
    const card = page.locator('[data-recipe=redis]');
    await card.getByRole('button', { name: /Set up|Retry/ }).click();
    const form = page.getByRole('dialog', { name: 'Set up Redis' });
    await form.getByLabel('User name').fill('default');
    await form.getByRole('button', { name: 'Preview changes' }).click();
    await form.getByText('Redis’s own user').waitFor();
    // A fresh name each run: the recipe creates the ACL user (and shows its string) only once.
    await form.getByLabel('User name').fill(redisUser);
    await form.getByRole('button', { name: 'Preview changes' }).click();
    const plan = page.getByRole('dialog', { name: /What will change/ });
    await plan.waitFor();
    await waitFor(
      async () =>
        (await plan.getAttribute('aria-busy')) !== 'true' &&
        !(await plan.getByText('Asking the server').count()),
      'the plan',
      60000,
    );
    await shot('plan-preview.png');
    // Streaming lines must not move the page: the console and what follows keep their place.
    const consoleBox = page.getByTestId('console');
    const before = await consoleBox.boundingBox();
    await plan.getByTestId('plan-confirm').click();
    const consoleRows = page.getByTestId('console').locator('.row');
    await waitFor(async () => (await consoleRows.count()) > 2, 'console lines', 120000);
    const secret = card.getByTestId('connection-string');
    await waitFor(
      async () => (await secret.count()) > 0 || (await card.locator('.error').count()) > 0,
      'the job to end',
      300000,
    );
    await shot('redis-done.png');
    const after = await consoleBox.boundingBox();
    assert(
      before && after && before.height === after.height,
      `the console changed height: ${before?.height} → ${after?.height}`,
    );
    if ((await secret.count()) === 0) {
      throw new Error(`the job failed: ${await card.locator('.error').textContent()}`);
    }
    const value = (await secret.textContent()) ?? '';
    assert(value.startsWith(`redis://${redisUser}:`), `unexpected connection string ${value}`);
    // Leave no test user behind on this machine's Redis (as the recipe's administrator: Redis
    // refuses clients without a password now).
    const env = {
      ...process.env,
      REDISCLI_AUTH: readFileSync('/etc/cairn/redis/admin', 'utf8').trim(),
    };
    const asAdmin = ['--no-auth-warning', '-h', '127.0.0.1', '--user', 'cairn-admin'];
    spawnSync('redis-cli', [...asAdmin, 'ACL', 'DELUSER', redisUser], { env });
    spawnSync('redis-cli', [...asAdmin, 'CONFIG', 'REWRITE'], { env });
    await card.getByText('does not store this connection string').waitFor();
    await card.getByRole('button', { name: 'Copy' }).click();
    assert((await page.evaluate(() => navigator.clipboard.readText())) === value, 'clipboard');
    await page.reload();
    await page.locator('[data-recipe=redis]').waitFor();
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 375, `Server Settings is ${width}px wide at 375px`);
    await shot('server-settings-375.png');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForTimeout(1000);
    assert(
      (await page.getByTestId('connection-string').count()) === 0,
      'the connection string survived a reload',
    );
  });

  await step('job history opens the stored log of the set-up job', async () => {
    await page
      .getByRole('link', { name: /Set up database Redis/ })
      .first()
      .click();
    await page.getByRole('heading', { name: /Set up database Redis/ }).waitFor();
    const rows = page.getByTestId('console').locator('.row');
    await waitFor(async () => (await rows.count()) > 2, 'the stored log');
    const text = (await page.getByTestId('console').textContent()) ?? '';
    assert(text.includes('Redis'), 'the log does not mention Redis');
    await shot('job-log.png');
  });

  await page.goto(`${base}/nodes/${nodeId}`);
  await detectionFlow({ page, step, shot });
  await runtimeFlow({ page, step, shot });
  await backupFlow({ page, step, shot });
  await frenchFlow({ page, step, shot, base, nodeId });
}
