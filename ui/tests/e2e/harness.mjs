// What the browser test (run.mjs) and the console benchmark (../bench/console.mjs) share: build
// the binaries, start the real control plane and agent on loopback with temporary directories,
// launch Debian's Chromium through playwright-core, and clean everything up on exit.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const ui = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const root = resolve(ui, '..');
export const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
export const results = join(ui, 'test-results');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(results, { recursive: true });

const children = [];
const temps = [];

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitFor(f, what, ms = 20000, every = 200) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await f()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (process.env.E2E_VERBOSE) process.stderr.write(d);
  });
  children.push(child);
  return { child, stderr: () => stderr };
}

export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

export function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  children.length = 0;
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  temps.length = 0;
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

export const bin = (name) => join(target, process.env.CAIRN_PROFILE ?? 'debug', name);

/**
 * Builds the control plane (and the agent: package cairn-agent is the agent and its worker,
 * `cairn-agent-worker`, side by side) if needed, and the UI if it has no build yet.
 */
export function build({ agent }) {
  const crates = ['-p', 'cairn-control-plane', ...(agent ? ['-p', 'cairn-agent'] : [])];
  const release = process.env.CAIRN_PROFILE === 'release' ? ['--release'] : [];
  run('cargo', ['build', '--quiet', ...release, ...crates], {
    cwd: root,
    env: { ...process.env, CARGO_TARGET_DIR: target },
  });
  if (!existsSync(join(ui, 'build', 'index.html')) || process.env.E2E_BUILD === '1') {
    run('npm', ['run', 'build', '--silent'], { cwd: ui });
  }
}

/** Starts the control plane on a free loopback port; resolves once it answers. */
export async function startControlPlane({ password, recipes }) {
  recipes ??= join(root, 'recipes');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = tempDir('cairn-e2e-');
  const cp = start(
    bin('cairn-control-plane'),
    [
      '--data-dir',
      join(dataDir, 'cp'),
      '--listen',
      `127.0.0.1:${port}`,
      '--recipes',
      recipes,
      '--ui',
      join(ui, 'build'),
    ],
    { CAIRN_ADMIN_PASSWORD: password, CAIRN_LOG: 'warn' },
  );
  await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'the control plane to answer');
  return { base, dataDir, cp };
}

/**
 * Enrolls a real agent with `token` (`NODEID.SECRET`) and starts it. It starts its worker,
 * `cairn-agent-worker`, from its own directory: without it no job or detector would run.
 */
export function startAgent({ base, token, dir, args = [] }) {
  if (!existsSync(bin('cairn-agent-worker'))) {
    throw new Error(
      `${bin('cairn-agent-worker')} does not exist: build it with the agent (cargo build -p cairn-agent)`,
    );
  }
  run(bin('cairn-agent'), ['enroll', '--url', base, '--token', token, '--config', dir]);
  return start(bin('cairn-agent'), ['run', '--config', dir, ...args], { CAIRN_LOG: 'warn' });
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Clicks a card's Install (or Retry) and, for a recipe that offers a version or source, takes
 * the default choice in the form that opens first; the plan dialog follows.
 */
export async function clickInstall(page, button) {
  await button.click();
  const choice = page.getByTestId('runtime-choice');
  const plan = page.getByRole('dialog', { name: /What will change/ });
  await waitFor(
    async () => (await choice.count()) > 0 || (await plan.count()) > 0,
    'the version choice or the plan',
  );
  if ((await choice.count()) > 0) await choice.getByTestId('runtime-preview').click();
}

/** Signs in through the login page. */
/**
 * Calls the control plane's API from `page` (its session cookie, its origin):
 * `api(method, path, body)` resolves to `{ status, body }`, the body parsed as JSON.
 */
export function pageApi(page) {
  return (method, path, body) =>
    page.evaluate(
      async ({ method, path, body }) => {
        const r = await fetch(path, {
          method,
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: r.status, body: await r.json() };
      },
      { method, path, body },
    );
}

export async function signIn(page, base, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

/**
 * Runs one flow by itself when its file is the script node was started with
 * (`CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/FILE.mjs`): builds, starts
 * a browser, prints each step, exits 1 if one failed.
 */
export async function runAlone(moduleUrl, flow) {
  if (moduleUrl !== pathToFileURL(process.argv[1]).href) return;
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
  await flow({ browser, step, withAgent: process.env.CAIRN_E2E_AGENT === '1' });
  await browser.close();
  cleanup();
  process.exit(failures === 0 ? 0 : 1);
}
