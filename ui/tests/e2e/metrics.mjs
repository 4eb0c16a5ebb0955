// A server's metrics (issue 19), in Chromium against a control plane of its own (an empty
// catalogue) and, with CAIRN_E2E_AGENT=1, a real agent sampling every second:
//
// - the node's page draws the Metrics card's charts (CPU, memory, load, disk) from the samples
//   the control plane stored, and hovering a chart shows its values in the legend;
// - at 375 px the charts are as wide as the screen, with no sideways scrolling;
// - another range (24 hours) reads again without an error;
// - the nodes list shows the node's last hour at a glance (a sparkline and its figures).
//
// Screenshots: ui/test-results/metrics-charts.png, metrics-375.png, nodes-glance.png.
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/metrics.mjs`.

import { join } from 'node:path';
import {
  assert,
  results,
  pageApi,
  runAlone,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

export async function metricsFlow({ browser, step, withAgent }) {
  if (!withAgent) return;
  const password = 'e2e-metrics-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({
    password,
    recipes: tempDir('cairn-e2e-metrics-recipes-'),
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, base, password);
  const api = pageApi(page);
  const made = (await api('POST', '/api/enrollment-tokens', { name: 'e2e-metrics' })).body;
  const nodeId = made.nodeId;
  startAgent({
    base,
    token: made.token,
    dir: join(dataDir, 'agent'),
    args: ['--metrics-interval', '1'],
  });
  // Enough samples for a rate (CPU needs two).
  await waitFor(
    async () => {
      const m = (await api('GET', `/api/nodes/${nodeId}/metrics?range=1h`)).body;
      return (m.timestamps ?? []).length >= 4;
    },
    'four samples stored',
    60000,
  );
  const nodePage = `${base}/nodes/${nodeId}`;
  const card = page.getByTestId('metrics');

  await step('metrics: the node page charts the samples, values on hover', async () => {
    await page.goto(nodePage);
    await card.locator('[data-chart="cpu"] canvas').first().waitFor({ timeout: 30000 });
    for (const kind of ['cpu', 'memory', 'load', 'disk']) {
      const n = await card.locator(`[data-chart="${kind}"] canvas`).count();
      assert(n > 0, `no ${kind} chart`);
    }
    // uPlot's legend shows the value under the pointer: a percentage for memory.
    const memory = card.locator('[data-chart="memory"]');
    const over = memory.locator('.u-over');
    const box = await over.boundingBox();
    assert(box, 'the memory chart has no plotting area');
    const value = memory.locator('.u-legend .u-series').nth(1).locator('.u-value');
    await waitFor(
      async () => {
        // `hover` scrolls the chart into view first (the card may be below the fold).
        await over.hover({ position: { x: box.width - 3, y: box.height / 2 } });
        return /\d+\s?%/.test((await value.textContent()) ?? '');
      },
      'the memory value under the pointer',
      10000,
    );
    await page.screenshot({ path: join(results, 'metrics-charts.png'), fullPage: true });
    assert((await page.getByRole('alert').count()) === 0, 'an error is shown');
  });

  await step('metrics: another range reads again without an error', async () => {
    await card.getByRole('button', { name: '24 hours' }).click();
    await waitFor(
      async () =>
        (await card.getByRole('button', { name: '24 hours' }).getAttribute('aria-pressed')) ===
        'true',
      'the 24-hour range chosen',
    );
    await page.waitForTimeout(500);
    assert((await card.getByRole('alert').count()) === 0, 'the 24-hour range failed');
  });

  await step('metrics: at 375 px the charts fit the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const p = await phone.newPage();
    await signIn(p, base, password);
    await p.goto(nodePage);
    const canvas = p.getByTestId('metrics').locator('[data-chart="cpu"] canvas').first();
    await canvas.waitFor({ timeout: 30000 });
    const scroll = await p.evaluate(() => document.documentElement.scrollWidth);
    assert(scroll <= 375, `the page scrolls sideways: ${scroll} px wide`);
    const width = (await canvas.boundingBox())?.width ?? 9999;
    assert(width <= 375, `a chart is ${width} px wide`);
    await p.screenshot({ path: join(results, 'metrics-375.png'), fullPage: true });
    await phone.close();
  });

  await step('metrics: the nodes list shows the last hour at a glance', async () => {
    await page.goto(base);
    const glance = page.getByTestId('glance');
    await glance.waitFor({ timeout: 30000 });
    const text = (await glance.textContent()) ?? '';
    assert(/CPU .* RAM \d+\s?% · disk \d+\s?%/.test(text), `glance says: ${text}`);
    await page.screenshot({ path: join(results, 'nodes-glance.png'), fullPage: true });
  });
  await context.close();
}

await runAlone(import.meta.url, metricsFlow);
