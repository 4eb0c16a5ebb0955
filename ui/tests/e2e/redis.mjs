// Redis's password must guard something (issue 15, item 4), with a real agent, as root: on a
// Redis as Debian ships it (`default` open, no password), "Set up" through the page asks for a
// user and a key prefix (no database name), the plan says before anything happens that access
// without a password will be turned off (screenshot ui/test-results/redis-plan.png), and after
// the job, from Node: a client without credentials is refused with NOAUTH, and the new user's
// connection string works within its prefix only.
//
// redis-cli gets passwords in REDISCLI_AUTH, never on its command line.

import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assert, results, waitFor } from './harness.mjs';

const ADMIN = '/etc/cairn/redis/admin';

/** `redis-cli ARGS` on this machine's Redis, as `user` with `password` when given. */
function cli(args, { user, password } = {}) {
  const auth = user ? ['--user', user] : [];
  const env = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password) env.REDISCLI_AUTH = password;
  const r = spawnSync('redis-cli', ['--no-auth-warning', '-h', '127.0.0.1', ...auth, ...args], {
    encoding: 'utf8',
    env,
  });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

/** As the administrator the recipe keeps on this server. */
function admin(args) {
  return cli(args, { user: 'cairn-admin', password: readFileSync(ADMIN, 'utf8').trim() });
}

/** Opens Redis again as Debian ships it, so the test sees the recipe turn access off. */
function openAsDebianShipsIt() {
  const said = cli(['ping']);
  if (said.startsWith('PONG') || !said.startsWith('NOAUTH')) return;
  assert(existsSync(ADMIN), `Redis refuses clients and ${ADMIN} is missing: ${said}`);
  for (const cmd of [
    ['ACL', 'SETUSER', 'default', 'on', 'nopass', '~*', '&*', '+@all'],
    ['CONFIG', 'REWRITE'],
  ]) {
    const out = admin(cmd);
    assert(out === 'OK', `${cmd.join(' ')}: ${out}`);
  }
  assert(cli(['ping']) === 'PONG', 'Redis is still closed');
}

export async function redisFlow({ page, step, shot }) {
  const card = page.locator('[data-recipe=redis]');
  const user = `lock${Date.now().toString(36)}`;
  const prefix = `${user}.cache:`;
  let url = '';

  await step('Redis: the plan says access without a password will be turned off', async () => {
    openAsDebianShipsIt();
    await card.getByRole('button', { name: /Set up|Retry/ }).click();
    const form = page.getByRole('dialog', { name: 'Set up Redis' });
    assert((await form.getByLabel('Database name').count()) === 0, 'Redis asks a database name');
    assert((await form.getByLabel('User name').inputValue()) === 'app', 'the user is not "app"');
    assert(
      (await form.getByLabel('Key prefix').inputValue()) === 'app:',
      'the prefix is not "app:"',
    );
    await form.getByLabel('Key prefix').fill('all*');
    await form.getByRole('button', { name: 'Preview changes' }).click();
    await form.getByText('no *, ?, brackets or spaces').waitFor();
    await form.getByLabel('User name').fill(user);
    await form.getByLabel('Key prefix').fill(prefix);
    await form.getByText(`matching ${prefix}*`).waitFor();
    await shot('redis-form.png');
    await form.getByRole('button', { name: 'Preview changes' }).click();
    const plan = page.getByRole('dialog', { name: /What will change/ });
    await waitFor(
      async () => (await plan.locator('.plan').getAttribute('aria-busy')) === 'false',
      'the plan',
      120000,
    );
    const notes = plan.getByTestId('plan-notes');
    await notes.getByText('Unauthenticated access to Redis will be turned off').waitFor();
    const text = (await notes.textContent()) ?? '';
    assert(text.includes(ADMIN), `the plan does not say where the admin password is: ${text}`);
    // Nothing happened yet: the preview turned nothing off.
    assert(cli(['ping']) === 'PONG', 'the preview changed Redis');
    await plan.screenshot({ path: join(results, 'redis-plan.png') });
    await shot('redis-plan-page.png');

    await plan.getByTestId('plan-confirm').click();
    const secret = card.getByTestId('connection-string');
    await waitFor(
      async () => (await secret.count()) > 0 || (await card.locator('.error').count()) > 0,
      'the job to end',
      300000,
    );
    if ((await secret.count()) === 0) {
      throw new Error(`the job failed: ${await card.locator('.error').textContent()}`);
    }
    url = (await secret.textContent()) ?? '';
    assert(url.startsWith(`redis://${user}:`), `unexpected connection string ${url}`);
  });

  await step('Redis: no way in without a password; the user stays within its prefix', async () => {
    assert(url, 'no connection string from the set-up step');
    for (const args of [['ping'], ['GET', `${prefix}x`], ['ACL', 'LIST']]) {
      const said = cli(args);
      assert(said.startsWith('NOAUTH'), `${args.join(' ')} without a password: ${said}`);
    }
    const password = decodeURIComponent(new URL(url).password);
    const as = (args) => cli(args, { user, password });
    assert(as(['ping']) === 'PONG', `the user's ping: ${as(['ping'])}`);
    assert(as(['SET', `${prefix}k`, 'v']) === 'OK', 'the user cannot write in its prefix');
    assert(as(['GET', `${prefix}k`]) === 'v', 'the user cannot read in its prefix');
    for (const args of [['SET', 'other:k', 'v'], ['GET', 'other:k'], ['FLUSHALL'], ['KEYS', '*']]) {
      const said = as(args);
      assert(said.includes('NOPERM'), `${args.join(' ')} as the user: ${said}`);
    }
    // Leave no test user or key behind.
    admin(['DEL', `${prefix}k`]);
    admin(['ACL', 'DELUSER', user]);
    admin(['CONFIG', 'REWRITE']);
  });
}
