// Benchmark: does the Server Settings page stay responsive while its live console streams?
// (`npm run bench:console`; figures in ../../../BENCHMARKS.md.) Not a test: it prints figures.
//
// Two runs, both in Debian's Chromium against the real control plane:
//
// 1. injected — RATE lines/s for SECONDS s (default 10,000/s for 10 s) delivered to the page's
//    real dashboard WebSocket object as `message` events, one task per message (as the network
//    delivers them), so everything from `DashboardSocket` on (parsing, the controller, the
//    console's rendering) is what is measured; nothing reaches the network.
// 2. real (as root; skipped otherwise, or with BENCH_REAL=0) — a real agent runs the `lines`
//    test recipe (`seq 1 N`, N = BENCH_REAL_LINES, default 100,000) and its lines come through
//    the agent, the control plane and the dashboard socket; whatever rate that path sustains.
//
// During each run the page records every requestAnimationFrame delta, long tasks, and Event
// Timing entries (input → next paint) for clicks on Clear / Follow and a PageUp in the console,
// which the script performs while the lines stream.
//
// Environment: BENCH_RATE, BENCH_SECONDS, BENCH_REAL, BENCH_REAL_LINES; CAIRN_PROFILE=release to
// use release binaries of the control plane and agent (default: debug).

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  build,
  cleanup,
  launchBrowser,
  results,
  root,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from '../e2e/harness.mjs';

const RATE = Number(process.env.BENCH_RATE ?? 10000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
// One socket message per line (the protocol before the agent coalesced lines), for comparison.
const PER_LINE = process.env.BENCH_PER_LINE === '1';
const REAL_LINES = Number(process.env.BENCH_REAL_LINES ?? 100000);
const real = process.env.BENCH_REAL !== '0' && process.getuid?.() === 0;
const password = 'bench-' + Math.random().toString(36).slice(2) + '-Passw0rd';

// The page side: wraps WebSocket to find the dashboard socket and count log messages, records
// frames, long tasks and input events, and injects messages. Runs before the app's scripts
// (CDP init scripts are not subject to the page's CSP).
function probe() {
  const B = (window.__bench = {
    sockets: [],
    logs: 0,
    lines: 0,
    recording: false,
    frames: [],
    longTasks: [],
    events: [],
  });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      B.sockets.push(this);
      this.addEventListener('message', (e) => {
        // The control plane's JSON has sorted keys; a type inside a log line would be escaped.
        if (typeof e.data !== 'string') return;
        if (e.data.includes('"type":"INFRASTRUCTURE_LOG"')) {
          B.logs++;
          // A message carries one or more lines, `\n`-separated (escaped in the JSON text).
          B.lines += e.data.split('\\n').length;
        } else if (/"type":"(RUNTIME_INSTALLED|JOB_FAILED)"/.test(e.data))
          B.done = performance.now();
      });
    }
  };
  const frame = (t) => {
    if (B.recording) B.frames.push(t);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((l) => {
    if (B.recording) for (const e of l.getEntries()) B.longTasks.push(e.duration);
  }).observe({ type: 'longtask' });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      if (!B.recording || !['click', 'keydown', 'pointerdown'].includes(e.name)) continue;
      B.events.push({
        name: e.name,
        duration: e.duration,
        delay: e.processingStart - e.startTime,
        target: e.target ? `${e.target.tagName} ${e.target.textContent.trim().slice(0, 8)}` : '',
      });
    }
  }).observe({ type: 'event', durationThreshold: 16 });

  B.start = () => {
    B.frames = [];
    B.longTasks = [];
    B.events = [];
    B.logs = 0;
    B.lines = 0;
    B.done = null;
    B.recording = true;
    B.t0 = performance.now();
  };
  B.stop = () => {
    B.recording = false;
    const { frames, longTasks, events, logs, lines, t0, done } = B;
    return { frames, longTasks, events, logs, lines, t0, done };
  };

  // RATE lines/s for SECONDS s into the open dashboard socket, one task per message.
  B.inject = (nodeId, jobId, rate, seconds, perLine) =>
    new Promise((resolve) => {
      const ws = B.sockets.find((s) => s.url.endsWith('/ws/dashboard') && s.readyState === 1);
      const ch = new MessageChannel();
      ch.port2.onmessage = (ev) => {
        if (ev.data === null) return resolve(performance.now());
        ws.dispatchEvent(new MessageEvent('message', { data: ev.data }));
      };
      const msg = (type, payload) => JSON.stringify({ type, nodeId, jobId, payload });
      ch.port1.postMessage(
        msg('JOB_STARTED', { jobId, seq: 1, recipeId: 'lines', recipeVersion: 1 }),
      );
      const total = rate * seconds;
      const t0 = performance.now();
      let sent = 0;
      let seq = 1;
      const line = (n) =>
        n % 10 === 0
          ? `\x1b[32mSetting up libexample${n % 97} (1.${n % 13}.${n}) ...\x1b[0m`
          : `Unpacking libexample${n % 97}:amd64 (1.${n % 13}.${n}) over (1.${n % 13}.0) ... line ${n}`;
      const send = (message) =>
        ch.port1.postMessage(
          msg('INFRASTRUCTURE_LOG', { jobId, seq: ++seq, message, stream: 'stdout' }),
        );
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
        // As the agent sends them: the lines due since the last tick in one message (at most
        // 16 KiB, `\n`-separated), or one message per line with BENCH_PER_LINE=1.
        let batch = [];
        let bytes = 0;
        for (; sent < due; sent++) {
          const text = line(sent + 1);
          if (perLine || (batch.length > 0 && bytes + text.length + 1 > 16384)) {
            if (batch.length > 0) send(batch.join('\n'));
            batch = [];
            bytes = 0;
          }
          if (perLine) {
            send(text);
            continue;
          }
          batch.push(text);
          bytes += text.length + 1;
        }
        if (batch.length > 0) send(batch.join('\n'));
        if (sent < total) setTimeout(tick, 4);
        else ch.port1.postMessage(null);
      };
      tick();
    });
}

// BENCH_PROFILE=1: where the page's main thread spent its time (self time per function).
function topFunctions(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`# ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(label, r, wallSeconds) {
  const d = [];
  for (let i = 1; i < r.frames.length; i++) d.push(r.frames[i] - r.frames[i - 1]);
  const s = [...d].sort((a, b) => a - b);
  const ev = r.events.map((e) => `${e.name}(${e.target}) ${e.duration} ms`).join(', ');
  const out = {
    run: label,
    seconds: +wallSeconds.toFixed(2),
    logMessages: r.logs,
    lines: r.lines,
    linesPerSecond: Math.round(r.lines / wallSeconds),
    frames: r.frames.length,
    fps: +(r.frames.length / wallSeconds).toFixed(1),
    p50: +pct(s, 50).toFixed(1),
    p95: +pct(s, 95).toFixed(1),
    max: +(s.at(-1) ?? NaN).toFixed(1),
    over50: d.filter((x) => x > 50).length,
    longTasks: r.longTasks.length,
    longTaskMs: Math.round(r.longTasks.reduce((a, b) => a + b, 0)),
    inputs: ev || 'none over 16 ms',
  };
  console.log(JSON.stringify(out));
  return out;
}

// Clicks Clear, scrolls up with PageUp, clicks Follow, clicks Clear again, spread over `ms`;
// returns how long each input took to be acknowledged by the page (CDP waits for the renderer
// to take the event, so a busy main thread shows here even when Event Timing has no entry).
async function controls(page) {
  // Positions are read before the lines start: a busy page may not answer queries quickly.
  await page.getByTestId('console').scrollIntoViewIfNeeded();
  const where = async (loc) => {
    const b = await loc.boundingBox();
    return { x: b.x + b.width / 2, y: b.y + Math.min(b.height / 2, 20) };
  };
  const clear = await where(page.getByRole('button', { name: 'Clear' }));
  const log = await where(page.getByTestId('console'));
  const follow = await where(page.locator('.console-foot button'));
  return { clear, log, follow };
}

async function interact(page, ms, { clear, log, follow }) {
  const acks = [];
  const timed = async (name, f) => {
    await page.waitForTimeout(ms / 5);
    const t = Date.now();
    await f();
    acks.push(`${name} ${Date.now() - t} ms`);
  };
  await timed('click Clear', () => page.mouse.click(clear.x, clear.y));
  await timed('click console + 2×PageUp', async () => {
    await page.mouse.click(log.x, log.y);
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
  });
  await timed('click Follow', () => page.mouse.click(follow.x, follow.y));
  await timed('click Clear', () => page.mouse.click(clear.x, clear.y));
  return acks;
}

process.env.E2E_BUILD ??= '1';
build({ agent: true });
// The `lines` test recipe (and only it) in the catalogue.
const recipes = tempDir('cairn-bench-recipes-');
copyFileSync(join(root, 'tests/recipes/lines.rhai'), join(recipes, 'lines.rhai'));
const { base } = await startControlPlane({ password, recipes });
const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
await page.addInitScript(probe);
page.on('crash', () => console.log('# the page crashed'));
await signIn(page, base, password);

const version = spawnSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`# ${version}; control plane ${process.env.CAIRN_PROFILE ?? 'debug'} build`);

// A node for the page to show: Server Settings opens only for a node that exists (an unknown id
// is the error page). As root it is a real agent's, which the second run uses too; otherwise a
// node is enrolled (its agent, in plan-only mode, runs nothing) all the same.
const agentDir = join(tempDir('cairn-bench-agent-'), 'agent');
const token = await page.evaluate(async () => {
  const r = await fetch('/api/enrollment-tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  return (await r.json()).token;
});
const node = token.split('.')[0];
startAgent({ base, token, dir: agentDir });

// Injected: messages for a job the agent never ran, into the node's page.
{
  await page.goto(`${base}/nodes/${node}`);
  await page.getByTestId('console').waitFor();
  await waitFor(
    () => page.evaluate(() => window.__bench.sockets.some((s) => s.readyState === 1)),
    'the dashboard socket',
  );
  const at = await controls(page);
  // The control: the same page with nothing streaming, for what this machine gives a frame now.
  await page.evaluate(() => window.__bench.start());
  await page.waitForTimeout(3000);
  summary('idle page (control)', await page.evaluate(() => window.__bench.stop()), 3);
  const cdp = process.env.BENCH_PROFILE === '1' ? await context.newCDPSession(page) : null;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  await page.evaluate(() => window.__bench.start());
  const t0 = Date.now();
  const inject = page.evaluate(
    ([n, r, s, p]) => window.__bench.inject(n, 'job-bench', r, s, p),
    [node, RATE, SECONDS, PER_LINE],
  );
  const acks = await interact(page, SECONDS * 1000 * 0.8, at);
  await inject;
  const wall = (Date.now() - t0) / 1000;
  // One more frame so the last batch is on screen before the recording stops.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
  const r = await page.evaluate(() => window.__bench.stop());
  if (cdp) topFunctions((await cdp.send('Profiler.stop')).profile);
  summary(
    `injected ${RATE}/s × ${SECONDS} s${PER_LINE ? ', one message per line' : ', lines coalesced per message'}`,
    r,
    wall,
  );
  console.log(`# input acknowledged after: ${acks.join(', ')}`);
  const last = await page.getByTestId('console').locator('.row').last().textContent();
  console.log(`# last row: ${last?.trim()}`);
  mkdirSync(results, { recursive: true });
  await page.screenshot({ path: join(results, 'bench-console.png') });
}

if (real) {
  await page.goto(`${base}/nodes/${node}`);
  await page.getByText('Connected').waitFor({ timeout: 30000 });
  const at = await controls(page);
  await page.evaluate(() => window.__bench.start());
  // Sent on the page's own socket, as a click would: the console shows the job it started.
  await page.evaluate(
    ([n, count]) => {
      const ws = window.__bench.sockets.find((s) => s.readyState === 1);
      ws.send(
        JSON.stringify({
          type: 'INSTALL_RUNTIME',
          nodeId: n,
          payload: { type: 'lines', params: { count } },
        }),
      );
    },
    [node, REAL_LINES],
  );
  const acks = await interact(page, 8000, at);
  await waitFor(
    () => page.evaluate(() => window.__bench.done != null),
    'the job to finish',
    30 * 60 * 1000,
    100,
  );
  const r = await page.evaluate(() => window.__bench.stop());
  const wall = (r.done - r.t0) / 1000;
  summary(`real agent → control plane → page, seq 1 ${REAL_LINES}`, r, wall);
  console.log(`# input acknowledged after: ${acks.join(', ')}`);
}

await browser.close();
cleanup();
