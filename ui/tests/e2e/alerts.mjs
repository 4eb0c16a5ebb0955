// The Alerts page (issue 19), in Chromium against a control plane of its own (an empty
// catalogue) and, with CAIRN_E2E_AGENT=1, a real agent:
//
// - with the disk rule's threshold lowered under the root file system's real usage, the
//   agent's status fires the disk alert, and the Alerts page shows it firing, as does the
//   server's page; Mute (an hour) marks it muted, and the mute is listed under the rules;
// - a webhook channel added through the form (a receiver on loopback) shows its address
//   masked and its secret as "set", never the secret; Send test reaches the receiver with a
//   body whose X-Cairn-Signature is the HMAC-SHA256 of the secret, checked here;
// - the page is usable at 375 px (no sideways scrolling).
//
// Screenshot: ui/test-results/alerts.png (and alerts-375.png).
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/alerts.mjs`.

import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
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

/** An HTTP server on 127.0.0.1 keeping every request's headers and body. */
async function receiver() {
  const hits = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/hooks/e2e-alerts-token-abcd`;
  return { url, hits, close: () => server.close() };
}

export async function alertsFlow({ browser, step, withAgent }) {
  const password = 'e2e-alerts-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({
    password,
    recipes: tempDir('cairn-e2e-alerts-recipes-'),
  });
  const hook = await receiver();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);
  const api = pageApi(page);

  let nodeId = null;
  if (withAgent) {
    await step('alerts: a real agent fires the disk alert, shown firing and muted', async () => {
      // Lowered before the agent connects: its first status fires it at this threshold (this
      // machine's disk may well be over the default 90 % already).
      await api('PUT', '/api/alert-rules/disk', { threshold: 1 });
      const made = (await api('POST', '/api/enrollment-tokens', { name: 'e2e-alerts' })).body;
      nodeId = made.nodeId;
      startAgent({ base, token: made.token, dir: join(dataDir, 'agent') });
      await waitFor(
        async () => (await api('GET', '/api/nodes')).body.some((n) => n.online),
        'the agent online',
      );
      await api('POST', '/api/nodes/status?wait=20', {});
      await page.goto(`${base}/alerts`);
      const firing = page.getByTestId('firing');
      const row = firing.locator('li[data-rule="disk"]');
      await waitFor(async () => {
        if ((await row.count()) > 0) return true;
        await page.reload();
        return false;
      }, 'the disk alert firing on the page');
      const text = (await row.textContent()) ?? '';
      assert(/Disk \/ is [\d.]+ % full \(over 1 %\)/.test(text), `alert says: ${text}`);
      await page.goto(`${base}/nodes/${nodeId}`);
      await page.getByTestId('node-alerts').getByText('Disk / is').waitFor();
      await page.goto(`${base}/alerts`);
      await row.getByRole('button', { name: /^Mute/ }).click();
      await row.getByTestId('muted').waitFor();
      await page.getByTestId('mutes').getByText('Disk full on e2e-alerts').waitFor();
    });
  }

  await step(
    'alerts: a webhook channel is added, masked, and Send test arrives signed',
    async () => {
      await page.goto(`${base}/alerts`);
      const form = page.getByTestId('add-channel');
      await form.getByLabel('Kind').selectOption('webhook');
      await form.getByLabel('Name').fill('ops-hook');
      await form.getByLabel('Address (URL)').fill(hook.url);
      await form.getByLabel('Signing secret').fill('e2e-signing-secret-42');
      await form.getByRole('button', { name: 'Add' }).click();
      const row = page.locator('li[data-channel="ops-hook"]');
      await row.waitFor();
      const shown = (await row.textContent()) ?? '';
      assert(shown.includes('/…abcd'), `address not masked as expected: ${shown}`);
      assert(shown.includes('secret set'), shown);
      assert(
        !(await page.content()).includes('e2e-signing-secret-42'),
        'the secret is on the page',
      );
      await row.getByRole('button', { name: 'Send a test to ops-hook' }).click();
      await page.getByTestId('channel-sent').getByText('Test sent to ops-hook.').waitFor();
      assert(hook.hits.length === 1, `the receiver got ${hook.hits.length} requests`);
      const { headers, body } = hook.hits[0];
      const want =
        'sha256=' + createHmac('sha256', 'e2e-signing-secret-42').update(body).digest('hex');
      assert(headers['x-cairn-signature'] === want, `signature ${headers['x-cairn-signature']}`);
      assert(JSON.parse(body.toString()).event === 'test', body.toString());
      await shot('alerts.png');
    },
  );

  await step('alerts: usable at 375 px', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${base}/alerts`);
    await page.getByTestId('channels').waitFor();
    const wide = await page.evaluate(
      () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
    );
    assert(!wide, 'the Alerts page scrolls sideways at 375 px');
    await shot('alerts-375.png');
  });

  hook.close();
  await context.close();
}

await runAlone(import.meta.url, alertsFlow);
