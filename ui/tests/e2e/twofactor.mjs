// Issue 20's must-show, in Chromium against a control plane of its own and a real agent: the
// owner invites a viewer from the Users page; the viewer accepts the link, sets a password,
// enrols two-factor sign-in from the account page (the code computed here from the secret the
// page shows, RFC 6238 with node's crypto), signs out and in again with a code; on a node's page
// the viewer finds no button that starts a job, and a crafted dashboard command that would start
// one, sent from the page's own context, is refused with the role sentence.
//
// Screenshot: ui/test-results/twofactor-account.png (the account page once enrolled).
// Alone: `node tests/e2e/twofactor.mjs`.

import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import {
  assert,
  build,
  pageApi,
  results,
  runAlone,
  signIn,
  startAgent,
  startControlPlane,
  waitFor,
} from './harness.mjs';

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238: the 6-digit SHA-1 code of `secret` (base32) for the 30-second step `step`. */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

export async function twoFactorFlow({ browser, step }) {
  // The flow needs a real agent even in run.mjs without CAIRN_E2E_AGENT (no-op once built).
  build({ agent: true });
  const password = 'e2e-2fa-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const viewerPassword = 'viewer-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({
    password,
    recipes: undefined,
  });
  const owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ownerPage = await owner.newPage();
  await signIn(ownerPage, base, password);
  const ownerApi = pageApi(ownerPage);

  // A real node for the viewer's node page.
  const made = (await ownerApi('POST', '/api/enrollment-tokens', { name: 'e2e-2fa-node' })).body;
  const nodeId = made.token.split('.')[0];
  startAgent({ base, token: made.token, dir: join(dataDir, 'agent') });
  await waitFor(
    async () => (await ownerApi('GET', '/api/nodes')).body.some((n) => n.id === nodeId && n.online),
    'the agent to connect',
    30000,
  );

  // The viewer's group: the node is in it, so the node page shows it to her.
  const tagged = await ownerApi('PATCH', `/api/nodes/${nodeId}`, { tags: ['web'] });
  assert(tagged.status === 200, JSON.stringify(tagged));

  let link = '';
  await step('2fa: the owner invites a viewer from the Users page', async () => {
    await ownerPage.goto(`${base}/users`);
    await ownerPage.locator('form.invite').getByLabel('User name').fill('vera');
    await ownerPage.locator('form.invite').getByLabel('Role').selectOption('viewer');
    await ownerPage.locator('form.invite').getByLabel('Node groups (tags)').fill('web');
    await ownerPage.getByRole('button', { name: 'Make an invitation link' }).click();
    link = (await ownerPage.getByTestId('invite-link').locator('code').textContent()) ?? '';
    assert(link.includes('/invite#'), `no link shown: ${link}`);
  });

  const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await viewer.newPage();
  const signInAs = async (code) => {
    await page.goto(`${base}/login`);
    await page.getByLabel('User name').fill('vera');
    await page.getByLabel('Password').fill(viewerPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (code !== undefined) {
      const field = page.getByLabel('The code from your app, or a recovery code');
      await field.waitFor();
      // No session yet: the half-signed-in state opens nothing.
      const me = await page.evaluate(async () => (await fetch('/api/me')).status);
      assert(me === 401, `a session before the code: ${me}`);
      await field.fill(code());
      await page.getByRole('button', { name: 'Verify' }).click();
    }
    await page.waitForURL(`${base}/`);
  };

  await step('2fa: the viewer accepts the link and sets a password', async () => {
    await page.goto(link);
    await page.getByLabel('New password (at least 10 characters)').fill(viewerPassword);
    await page.getByLabel('New password again').fill(viewerPassword);
    await page.getByRole('button', { name: 'Set my password' }).click();
    await page.waitForURL(/\/login/);
    await signInAs(undefined);
  });

  let secret = '';
  let enrolStep = 0;
  await step('2fa: the viewer enrols from the account page (QR code, secret, code)', async () => {
    await page.goto(`${base}/account`);
    const card = page.getByTestId('two-factor');
    await card.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    secret = ((await card.getByTestId('totp-secret').textContent()) ?? '').trim();
    assert(/^[A-Z2-7]{32}$/.test(secret), `no secret shown: ${secret}`);
    const qr = await card.getByRole('img').getAttribute('src');
    assert(qr?.startsWith('data:image/svg+xml;base64,'), 'no QR code');
    enrolStep = stepNow();
    await card.getByLabel('The 6-digit code your app shows now').fill(totp(secret, enrolStep));
    await card.getByRole('button', { name: 'Turn on' }).click();
    await card.getByTestId('recovery-codes').waitFor();
    assert((await card.getByTestId('recovery-codes').locator('li').count()) === 10, 'codes');
    await card.getByText('Two-factor sign-in is on; 10 recovery codes left.').waitFor();
    await page.screenshot({ path: join(results, 'twofactor-account.png'), fullPage: true });
  });

  await step('2fa: signed out, the viewer signs in again with a code', async () => {
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL(/\/login/);
    // The enrolment's code was used: the next step's (or the current one if later).
    await signInAs(() => totp(secret, Math.max(enrolStep + 1, stepNow())));
    const me = await pageApi(page)('GET', '/api/me');
    assert(me.status === 200 && me.body.role === 'viewer', JSON.stringify(me));
  });

  await step('2fa: on a node page the viewer finds no button that starts a job', async () => {
    const seen = await pageApi(page)('GET', '/api/nodes');
    assert(
      seen.body.some((n) => n.id === nodeId),
      `the viewer does not see the node: ${JSON.stringify(seen.body)}`,
    );
    await page.goto(`${base}/nodes/${nodeId}`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.getByText('Redis').first().waitFor();
    // Give the catalogue and the node's status time to render their cards.
    await page.waitForTimeout(3000);
    const names = await page.getByRole('button').allTextContents();
    const starting = names.filter((n) =>
      /install|set up|retry|run|back up|restore|configure|update|remove|uninstall|upgrade/i.test(n),
    );
    assert(starting.length === 0, `buttons that start a job: ${starting.join(', ')}`);
    assert((await page.getByTestId('runtime-preview').count()) === 0, 'a job form is offered');
    await page.screenshot({ path: join(results, 'twofactor-viewer-node.png'), fullPage: true });
  });

  await step(
    '2fa: a crafted command that starts a job is refused with the role sentence',
    async () => {
      const answer = await page.evaluate(
        (nodeId) =>
          new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/dashboard`);
            ws.onopen = () =>
              ws.send(
                JSON.stringify({
                  type: 'INSTALL_RUNTIME',
                  nodeId,
                  payload: { recipe: 'redis' },
                }),
              );
            ws.onmessage = (m) => {
              const e = JSON.parse(m.data);
              if (e.type === 'ERROR') {
                ws.close();
                resolve(e.payload?.message ?? '');
              }
            };
            setTimeout(() => resolve('no answer within 10 s'), 10000);
          }),
        nodeId,
      );
      assert(
        answer.includes('your role (viewer) may not') && answer.includes('ask the owner'),
        `not the role sentence: ${answer}`,
      );
      const jobs = await ownerApi('GET', `/api/jobs?node=${nodeId}`);
      assert(Array.isArray(jobs.body) && jobs.body.length === 0, `a job was made: ${jobs.body}`);
    },
  );

  await viewer.close();
  await owner.close();
}

await runAlone(import.meta.url, twoFactorFlow);
