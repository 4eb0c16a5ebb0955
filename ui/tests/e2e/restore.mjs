// Restoring a backup from the page (issue 18), in Chromium against a control plane of its own
// whose catalogue holds the repository's S3 backup recipe, with CAIRN_E2E_AGENT=1 (as root,
// under the machine lock) a real agent, and moto's S3 server on loopback as the bucket:
//
// - the S3 backup of a temporary folder is configured through the card's form (plan, run), and
//   the card's snapshot table then shows its snapshot (time, size, files, duration);
// - "Restore…" on that row opens the restore dialog; "Preview" shows the `restore` action's
//   plan (the script's `restore` command); "Confirm and run" runs it, the live console shows
//   the restored sentence, and every restored file has the original's SHA-256;
// - after a file is changed and another deleted, "Over the original files" previews a plan that
//   warns and runs only once the snapshot's id is typed again; both files come back.
//
// What the backup made on this machine (settings, script, cron file, state, restored folder)
// is removed afterwards. Screenshot: ui/test-results/backup-restore.png.
// Alone: `CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/restore.mjs`.

import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert,
  freePort,
  results,
  root,
  runAlone,
  signIn,
  start,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

/** What the S3 backup leaves on this machine (as `reset("s3")` of the Rust tests). */
function resetS3() {
  for (const p of [
    '/etc/cairn/backup/s3',
    '/var/lib/cairn/backups/s3',
    '/usr/local/lib/cairn/backup-s3',
    '/etc/cron.d/cairn-backup-s3',
    '/var/log/cairn-backup-s3.log',
    '/var/cache/cairn-restic',
  ]) {
    rmSync(p, { recursive: true, force: true });
  }
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

export async function restoreFlow({ browser, step, withAgent }) {
  if (!withAgent) return;
  resetS3();
  const recipes = tempDir('cairn-e2e-restore-recipes-');
  copyFileSync(join(root, 'recipes/s3.rhai'), join(recipes, 's3.rhai'));
  const source = tempDir('cairn-e2e-restore-source-');
  const files = {
    'app.conf': 'listen 127.0.0.1:8080\n',
    'data/notes.md': '# notes\nkept by the backup\n',
    'data/blob.bin': createHash('sha512').update(String(Date.now())).digest('hex').repeat(500),
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(source, rel, '..'), { recursive: true });
    writeFileSync(join(source, rel), text);
  }
  const motoPort = await freePort();
  start('moto_server', ['-H', '127.0.0.1', '-p', String(motoPort)]);
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${motoPort}/`)).ok,
    'moto_server to answer',
  );

  const password = 'e2e-restore-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({ password, recipes });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);
  const token = await page.evaluate(async () => {
    const r = await fetch('/api/enrollment-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-restore' }),
    });
    return (await r.json()).token;
  });
  const nodeId = token.split('.')[0];
  startAgent({ base, token, dir: join(dataDir, 'agent') });
  await page.goto(`${base}/nodes/${nodeId}`);
  await page.getByText('Connected').waitFor({ timeout: 30000 });

  const card = page.locator('[data-recipe=s3]');
  const plan = page.getByRole('dialog', { name: /What will change/ });
  const confirm = page.getByTestId('plan-confirm');
  const consoleText = async () => (await page.getByTestId('console').textContent()) ?? '';
  let restoredDir = '';

  await step('restore: a configured S3 backup lists its snapshot in the card', async () => {
    const configure = card.getByRole('button', { name: 'Configure backups…' });
    await waitFor(async () => !(await configure.isDisabled()), 'the agent to be online', 30000);
    const form = page.getByTestId('backup-form');
    // A status arriving while the card first draws can swallow a click: click until it opens.
    await waitFor(
      async () => {
        if ((await form.count()) === 0) await configure.click();
        return (await form.count()) > 0;
      },
      'the backup form',
      30000,
      1000,
    );
    await form.getByLabel(/^S3 endpoint/).fill(`http://127.0.0.1:${motoPort}`);
    await form.getByLabel(/^Bucket/).fill('cairn-e2e-restore');
    await form.getByLabel(/^Access key ID/).fill('AKIAE2ERESTORE');
    await form.getByLabel(/^Secret access key/).fill('e2eSecret' + Date.now().toString(36));
    await form.getByLabel(/^Folders to back up/).fill(source);
    await form.getByRole('button', { name: 'Preview changes' }).click();
    await plan.waitFor();
    await waitFor(async () => !(await confirm.isDisabled()), 'the configure plan', 120000);
    const said = (await plan.textContent()) ?? '';
    assert(
      said.includes('The first backup and its restore test run next as their own job'),
      `the preview does not say the first backup follows: ${said}`,
    );
    await confirm.click();
    await plan.waitFor({ state: 'detached' });
    // The configure runs no backup; the control plane starts the first one, as its own job,
    // and the card follows it until the restore test has passed.
    await waitFor(
      async () => (await consoleText()).includes('Restore test passed'),
      'the first backup job and its restore test',
      180000,
    );
    const row = card.locator('[data-testid=snapshots] tbody tr');
    await waitFor(async () => (await row.count()) === 1, 'the snapshot row', 180000);
    const cells = await row.locator('td').allTextContents();
    assert(cells[2].trim() === '3', `files: ${cells.join(' | ')}`);
    assert(/KB|B/.test(cells[1]), `size: ${cells.join(' | ')}`);
    assert(/\d+ s/.test(cells[3]), `duration: ${cells.join(' | ')}`);
  });

  await step(
    'restore: Restore… previews the plan, runs, and the console says what came back',
    async () => {
      const row = card.locator('[data-testid=snapshots] tbody tr').first();
      const id = await row.getAttribute('data-snapshot');
      assert(id && /^[0-9a-f]{8}$/.test(id), `snapshot id ${id}`);
      await row.getByRole('button', { name: 'Restore…' }).click();
      const dialog = page.getByTestId('restore-form');
      await dialog.waitFor();
      restoredDir = `/var/lib/cairn/restores/s3-${id}`;
      rmSync(restoredDir, { recursive: true, force: true });
      await dialog.getByTestId('restore-preview').click();
      await plan.waitFor();
      await waitFor(async () => !(await confirm.isDisabled()), 'the restore plan', 60000);
      const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
      assert(
        commands.includes(`/usr/local/lib/cairn/backup-s3 restore ${id} ${restoredDir}`),
        `the plan does not name the restore: ${commands}`,
      );
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(
        async () => (await consoleText()).includes(`of snapshot ${id} into ${restoredDir}`),
        'the restored sentence in the console',
        120000,
      );
      assert(
        (await consoleText()).includes('Restored 3 files'),
        'the console does not say how many files came back',
      );
      for (const rel of Object.keys(files)) {
        const back = join(restoredDir, source, rel);
        assert(sha256(back) === sha256(join(source, rel)), `${rel} differs after the restore`);
      }
      await page.getByTestId('console').scrollIntoViewIfNeeded();
      await shot('backup-restore.png');
    },
  );

  await step(
    'restore: over the original files, only once the snapshot id is typed again',
    async () => {
      writeFileSync(join(source, 'app.conf'), 'changed since the backup\n');
      rmSync(join(source, 'data/notes.md'));
      const row = card.locator('[data-testid=snapshots] tbody tr').first();
      const id = await row.getAttribute('data-snapshot');
      await row.getByRole('button', { name: 'Restore…' }).click();
      const dialog = page.getByTestId('restore-form');
      await dialog.getByLabel(/Over the original files/).check();
      await dialog.getByTestId('restore-over-warning').waitFor();
      await dialog.getByTestId('restore-preview').click();
      await plan.waitFor();
      await plan.getByTestId('plan-destructive').waitFor({ timeout: 60000 });
      const notes = (await plan.textContent()) ?? '';
      assert(notes.includes('files made since it stay'), `the plan does not warn: ${notes}`);
      const input = plan.getByTestId('plan-confirm-input');
      await input.fill(id.slice(0, 7));
      assert(await confirm.isDisabled(), 'Confirm is enabled before the id is typed');
      await input.fill(id);
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      await waitFor(
        async () => (await consoleText()).includes(`of snapshot ${id} into the original paths`),
        'the restore over the originals',
        120000,
      );
      for (const rel of ['app.conf', 'data/notes.md']) {
        assert(readFileSync(join(source, rel), 'utf8') === files[rel], `${rel} did not come back`);
      }
    },
  );

  await context.close();
  if (restoredDir) rmSync(restoredDir, { recursive: true, force: true });
  resetS3();
}

await runAlone(import.meta.url, restoreFlow);
