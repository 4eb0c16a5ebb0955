// Backups on day 2 (issue 18), in Chromium against a control plane of its own and a real agent
// (CAIRN_E2E_AGENT=1, as root), with a real SSH server on loopback (openssh-server's sshd with a
// config of its own, for the account `cairnbackup`) as the rsync target:
//
// - the rsync form goes in order: "Make this server's key" shows the key with a copy button,
//   "Test connection" fails with a sentence while the target does not accept the key and passes
//   once it does, and only then "Save and run the first backup" (previewed, then run) is open;
// - a folder with spaces is backed up; the card then says "Last verified restore: just now";
// - "Change…" opens the form filled with the current configuration;
// - "Remove…" goes through the preview and the typed confirmation; the cron file goes, the key
//   stays.
//
// Screenshot: ui/test-results/backup-day2.png (and backup-day2-form.png, backup-day2-remove.png).
// Run alone: CAIRN_E2E_AGENT=1 flock -o /tmp/cairn-system.lock node tests/e2e/backupday2.mjs

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  assert,
  freePort,
  results,
  runAlone,
  signIn,
  start,
  startAgent,
  startControlPlane,
  tempDir,
  waitFor,
} from './harness.mjs';

const USER = 'cairnbackup';
const KEY = '/etc/cairn/backup/rsync/id_ed25519';

/** What the rsync recipe leaves on this machine, removed before and after the flow. */
function resetRsync() {
  for (const p of [
    '/etc/cairn/backup/rsync',
    '/var/lib/cairn/backups/rsync',
    '/usr/local/lib/cairn/backup-rsync',
    '/etc/cron.d/cairn-backup-rsync',
    '/var/log/cairn-backup-rsync.log',
  ]) {
    rmSync(p, { recursive: true, force: true });
  }
}

const sh = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' });
const cronRunning = () => sh('service', ['cron', 'status']).status === 0;

/** sshd on 127.0.0.1:`port`, taking only the keys in `dir/authorized/USER`. */
async function startSshd(dir, port) {
  if (sh('id', [USER]).status !== 0) sh('useradd', ['-m', '-s', '/bin/sh', USER]);
  sh('usermod', ['-p', '*', USER]);
  const hostKey = join(dir, 'host_ed25519');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  mkdirSync(join(dir, 'authorized'));
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    `Port ${port}\nListenAddress 127.0.0.1\nHostKey ${hostKey}\nPidFile ${dir}/sshd.pid\n` +
      `AuthorizedKeysFile ${dir}/authorized/%u\nStrictModes no\nPasswordAuthentication no\n` +
      `KbdInteractiveAuthentication no\nUsePAM no\nPubkeyAuthentication yes\n`,
  );
  mkdirSync('/run/sshd', { recursive: true });
  start('/usr/sbin/sshd', ['-D', '-e', '-f', config]);
  await waitFor(
    () =>
      new Promise((res) => {
        const s = connect(port, '127.0.0.1', () => {
          s.end();
          res(true);
        });
        s.on('error', () => res(false));
      }),
    'sshd to listen',
  );
}

export async function backupDay2Flow({ browser, step, withAgent }) {
  if (!withAgent) return;
  if (!existsSync('/usr/sbin/sshd')) {
    console.log('skip backup day 2: openssh-server is not installed');
    return;
  }
  const password = 'e2e-day2-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  const { base, dataDir } = await startControlPlane({ password });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(results, name), fullPage: true });
  await signIn(page, base, password);

  resetRsync();
  const hadCron = cronRunning();
  const dir = tempDir('cairn-e2e-day2-');
  chmodSync(dir, 0o755);
  const port = await freePort();
  await startSshd(dir, port);
  const targetDir = join(dir, 'target');
  mkdirSync(targetDir);
  sh('chown', [USER, targetDir]);
  const target = `${USER}@127.0.0.1:${targetDir}/web-1`;
  const spaced = join(dir, 'source', 'My Files');
  mkdirSync(join(spaced, 'Tax 2026'), { recursive: true });
  writeFileSync(join(spaced, 'Tax 2026', 'return final.txt'), 'line 1\nline 2\n');

  const token = await page.evaluate(async () => {
    const r = await fetch('/api/enrollment-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-backup-day2' }),
    });
    return (await r.json()).token;
  });
  const nodeId = token.split('.')[0];
  startAgent({ base, token, dir: join(dataDir, 'agent') });
  await page.goto(`${base}/nodes/${nodeId}`);
  await page.getByText('Connected').waitFor({ timeout: 30000 });
  const card = page.locator('[data-recipe=rsync]');
  const configure = card.getByRole('button', { name: 'Configure backups…' });
  await waitFor(async () => !(await configure.isDisabled()), 'the agent to be online', 30000);
  const form = page.getByTestId('backup-form');
  const plan = page.getByRole('dialog', { name: /What will change/ });
  const confirm = page.getByTestId('plan-confirm');

  try {
    await steps();
  } finally {
    await context.close();
    resetRsync();
    if (!hadCron) sh('service', ['cron', 'stop']);
  }

  async function steps() {
    await step('backup day 2: rsync setup goes key → connection test → first backup', async () => {
      await configure.click();
      await form.waitFor();
      const save = form.getByRole('button', { name: '3. Save and run the first backup' });
      assert(await save.isDisabled(), 'Save is open before the connection test');
      await form.getByRole('button', { name: '1. Make this server’s key' }).click();
      const shown = form.getByTestId('form-public-key');
      await shown.waitFor({ timeout: 120000 });
      const key = readFileSync(`${KEY}.pub`, 'utf8').trim();
      assert((await shown.textContent())?.trim() === key, 'the form shows another key');
      await form.getByRole('button', { name: 'Copy' }).click();
      assert((await page.evaluate(() => navigator.clipboard.readText())) === key, 'clipboard');

      await form.getByLabel(/^Target/).fill(target);
      await form.getByLabel(/^SSH port/).fill(String(port));
      await form.getByLabel(/^Folders to back up/).fill(spaced);
      await form.getByTestId('preset-drill_schedule').selectOption('daily');
      const test = form.getByRole('button', { name: '2. Test connection' });
      const result = form.getByTestId('test-result');
      await test.click();
      await waitFor(
        async () => (await result.textContent())?.includes('authorized_keys'),
        'the failed test to say what to do',
        60000,
      );
      const failed = (await result.textContent()) ?? '';
      assert(failed.includes(key), `the sentence does not carry the key: ${failed}`);
      assert(await save.isDisabled(), 'Save is open after a failed test');

      writeFileSync(join(dir, 'authorized', USER), key + '\n');
      await test.click();
      await waitFor(
        async () => (await result.textContent())?.includes('rsync is installed'),
        'the test to pass',
        60000,
      );
      await shot('backup-day2-form.png');
      assert(!(await save.isDisabled()), 'Save stays closed after a passed test');
      await save.click();
      await plan.waitFor();
      await waitFor(async () => !(await confirm.isDisabled()), 'the plan', 120000);
      const said = (await plan.textContent()) ?? '';
      assert(
        said.includes('The first backup and its restore test run next as their own job'),
        `the preview does not say the first backup follows: ${said}`,
      );
      await confirm.click();
      await plan.waitFor({ state: 'detached' });
      const drill = card.getByTestId('drill');
      await waitFor(
        async () => (await drill.getAttribute('data-state')) === 'ok',
        'the first backup and its restore test',
        300000,
      );
      // Configure ran no backup: the control plane started the first one as its own job, which
      // the card followed to its end.
      const status = (await card.locator('p.wrap[role=status]').textContent()) ?? '';
      assert(status.includes('restored and verified byte for byte'), `the card says: ${status}`);
      const ago = (await card.getByTestId('drill-ago').textContent()) ?? '';
      assert(/just now|min ago/.test(ago), `last verified restore: ${ago}`);
      const text = (await drill.textContent()) ?? '';
      assert(text.includes('Restore drills: 30 4 * * *'), `the drill line: ${text}`);
      const snaps = sh('ls', [join(targetDir, 'web-1')])
        .stdout.trim()
        .split('\n');
      const copied = join(targetDir, 'web-1', snaps[0], spaced, 'Tax 2026', 'return final.txt');
      assert(existsSync(copied), `the folder with spaces is not in the snapshot: ${copied}`);
      await shot('backup-day2.png');
    });

    await step('backup day 2: Change… opens the form filled with the configuration', async () => {
      await card.getByRole('button', { name: 'Change…' }).click();
      await form.waitFor();
      assert((await form.getByLabel(/^Target/).inputValue()) === target, 'target not prefilled');
      assert((await form.getByLabel(/^SSH port/).inputValue()) === String(port), 'port');
      const paths = await form.getByLabel(/^Folders to back up/).inputValue();
      assert(paths === spaced, `paths: ${paths}`);
      assert((await form.getByTestId('preset-drill_schedule').inputValue()) === 'daily', 'drill');
      assert((await form.getByTestId('step-key').count()) === 0, 'the key step is back on Change');
      await form.getByRole('button', { name: 'Cancel' }).click();
      await form.waitFor({ state: 'detached' });
    });

    await step(
      'backup day 2: Remove… with typed confirmation; the cron file goes, the key stays',
      async () => {
        await card.getByRole('button', { name: 'Remove…' }).click();
        const dialog = page.getByTestId('backup-remove');
        await dialog.getByRole('button', { name: 'Preview the removal' }).click();
        await plan.waitFor();
        await plan.getByTestId('plan-destructive').waitFor({ timeout: 60000 });
        const commands = (await plan.getByTestId('plan-commands').textContent()) ?? '';
        assert(commands.includes('/etc/cron.d/cairn-backup-rsync'), `the preview: ${commands}`);
        assert(await confirm.isDisabled(), 'Confirm is open before the name is typed');
        await plan.getByTestId('plan-confirm-input').fill('s3');
        assert(await confirm.isDisabled(), 'Confirm is open with the wrong name');
        await plan.getByTestId('plan-confirm-input').fill('rsync');
        assert(existsSync('/etc/cron.d/cairn-backup-rsync'), 'removed before the confirmation');
        await shot('backup-day2-remove.png');
        await confirm.click();
        await plan.waitFor({ state: 'detached' });
        await waitFor(
          async () => (await card.textContent())?.includes('Not configured'),
          'the card to say Not configured',
          120000,
        );
        assert(!existsSync('/etc/cron.d/cairn-backup-rsync'), 'the cron file is still there');
        assert(existsSync(KEY), 'the key went without being asked');
      },
    );
  }
}

await runAlone(import.meta.url, backupDay2Flow);
