// A node's day 2 on the page (issue 18), in Chromium against a control plane of its own (an
// empty catalogue: no detector runs) and, with CAIRN_E2E_AGENT=1, two real agents:
//
// - the install commands not used yet are listed with their expiry; Revoke takes one away, and
//   `cairn-agent enroll` with it is refused with the control plane's sentence;
// - a node is renamed and tagged from its page (the heading follows); another is tagged too;
// - the node list filters by tag, kept in the address (`?tag=web`, still filtered after a
//   reload);
// - "Remove…" stays disabled until the node's name is typed; then the node is gone from the
//   list, the dialog shows the command that uninstalls the agent, and the removed agent logs
//   that it was removed from Cairn.
//
// Screenshots: ui/test-results/nodes-day2.png (the filtered list and the tokens),
// nodes-day2-removed.png (the uninstall command).
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/nodes.mjs`.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  assert,
  bin,
  results,
  pageApi,
  runAlone,
  signIn,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

export async function nodesFlow({ browser, step, withAgent }) {
  const password = 'e2e-nodes-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({
    password,
    recipes: tempDir('cairn-e2e-nodes-recipes-'),
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);
  const api = pageApi(page);
  const token = async (name) => (await api('POST', '/api/enrollment-tokens', { name })).body.token;

  await token('e2e-later');
  const revoked = await token('e2e-revoked');
  const tokens = page.getByTestId('pending-tokens');

  await step(
    'nodes: unused install commands are listed with their expiry and revoked',
    async () => {
      await page.goto(`${base}/`);
      await tokens.getByText('e2e-later').waitFor();
      const row = tokens.locator(`[data-token="${revoked.split('.')[0]}"]`);
      assert((await row.textContent())?.includes('expires'), 'no expiry shown');
      await row.getByRole('button', { name: 'Revoke' }).click();
      await waitFor(async () => (await row.count()) === 0, 'the revoked command to go');
      await page.reload();
      await tokens.getByText('e2e-later').waitFor();
      assert((await tokens.getByText('e2e-revoked').count()) === 0, 'revoked still listed');
      const enroll = spawnSync(
        bin('cairn-agent'),
        ['enroll', '--url', base, '--token', revoked, '--config', join(dataDir, 'revoked')],
        { encoding: 'utf8' },
      );
      const said = `${enroll.stdout}${enroll.stderr}`;
      assert(enroll.status !== 0, `a revoked token enrolled: ${said}`);
      assert(said.includes('this enrollment token was revoked by admin'), said);
    },
  );

  if (!withAgent) {
    await context.close();
    return;
  }

  const webToken = await token('e2e-node-a');
  const dbToken = await token('e2e-node-b');
  const webId = webToken.split('.')[0];
  const dbId = dbToken.split('.')[0];
  const webAgent = startAgent({ base, token: webToken, dir: join(dataDir, 'agent-a') });
  startAgent({ base, token: dbToken, dir: join(dataDir, 'agent-b') });
  const list = page.locator('table.nodes tbody');

  await step('nodes: a node is renamed and tagged from its page', async () => {
    await page.goto(`${base}/`);
    await waitFor(
      async () => {
        await page.reload();
        return (await page.getByText('Online').count()) === 2;
      },
      'both nodes online',
      30000,
    );
    await page.goto(`${base}/nodes/${webId}`);
    const manage = page.getByTestId('node-manage');
    await manage.getByRole('button', { name: 'Rename or tag' }).click();
    await manage.getByLabel('Name').fill('e2e-web');
    await manage.getByLabel('Tags').fill('Web, prod -bad');
    await manage.getByRole('button', { name: 'Save' }).click();
    await manage.getByRole('alert').filter({ hasText: '“-bad” is not a tag' }).waitFor();
    await manage.getByLabel('Tags').fill('Web, prod');
    await manage.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Server Settings — e2e-web' }).waitFor();
    await manage.getByRole('link', { name: 'web' }).waitFor();
    await manage.getByRole('link', { name: 'prod' }).waitFor();
    const tagged = await api('PATCH', `/api/nodes/${dbId}`, { tags: ['db'] });
    assert(tagged.status === 200, JSON.stringify(tagged));
  });

  await step('nodes: the list filters by tag, kept in the address', async () => {
    await page.goto(`${base}/`);
    await list.getByRole('link', { name: 'e2e-web' }).waitFor();
    await page.getByLabel('Show the nodes tagged').selectOption('web');
    await page.waitForURL(/\?tag=web$/);
    await waitFor(async () => (await list.locator('tr').count()) === 1, 'one node shown');
    assert((await list.getByText('e2e-node-b').count()) === 0, 'the db node is still shown');
    await page.reload();
    await list.getByRole('link', { name: 'e2e-web' }).waitFor();
    assert((await list.locator('tr').count()) === 1, 'the filter was lost on reload');
    await page.getByTestId('filter-count').filter({ hasText: '1 of 2 nodes' }).waitFor();
    await tokens.getByText('e2e-later').waitFor();
    await shot('nodes-day2.png');
    await page.getByLabel('Show the nodes tagged').selectOption('db');
    await list.getByRole('link', { name: 'e2e-node-b' }).waitFor();
    await page.getByLabel('Show the nodes tagged').selectOption('');
    await waitFor(async () => (await list.locator('tr').count()) === 2, 'both nodes shown');
  });

  await step(
    'nodes: a node is removed with its name typed and the uninstall command shown',
    async () => {
      await page.goto(`${base}/nodes/${webId}`);
      await page.getByRole('button', { name: 'Remove…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Remove this node from Cairn' });
      const submit = dialog.getByRole('button', { name: 'Remove node' });
      await dialog.getByLabel(/Type the node’s name/).fill('e2e-we');
      assert(await submit.isDisabled(), 'Remove node is enabled with the wrong name');
      await dialog.getByLabel(/Type the node’s name/).fill('e2e-web');
      await submit.click();
      const done = page.getByRole('dialog', { name: 'e2e-web was removed' });
      const cmd = done.getByTestId('uninstall-command');
      await cmd.waitFor();
      const text = (await cmd.textContent()) ?? '';
      assert(text === `curl -fsSL ${base}/install.sh | sudo bash -s -- --uninstall`, text);
      await shot('nodes-day2-removed.png');
      await waitFor(
        () => webAgent.stderr().includes('this server was removed from Cairn by admin'),
        'the removed agent to log its removal',
      );
      await done.getByRole('button', { name: 'Back to the node list' }).click();
      await page.waitForURL(`${base}/`);
      await list.getByRole('link', { name: 'e2e-node-b' }).waitFor();
      assert((await list.getByText('e2e-web').count()) === 0, 'the removed node is listed');
      await page.goto(`${base}/audit`);
      await page.getByRole('cell', { name: 'Server removed from Cairn' }).first().waitFor();
      await page.getByRole('cell', { name: 'Server renamed or tagged' }).first().waitFor();
      await page.getByRole('cell', { name: 'Connect command revoked' }).first().waitFor();
    },
  );
  await context.close();
}

await runAlone(import.meta.url, nodesFlow);
