// What a running database holds, on its card (issue 17, databases' read side), with a real
// agent: after the Redis setup, the Redis card's fold lists its ACL users (Cairn's
// administrator, `default` off, the application user with its key prefix) and no password
// hash; a running PostgreSQL or MariaDB card lists its databases and users the same way.
// Screenshot ui/test-results/db-contents.png.

import { assert, waitFor } from './harness.mjs';

export async function dbContentsFlow({ page, step, shot }) {
  await step('a running database card lists its users (and databases), never a hash', async () => {
    await page.reload();
    const card = page.locator('[data-recipe=redis]');
    const fold = card.getByTestId('db-contents');
    await waitFor(async () => (await fold.count()) > 0, 'the Redis card to list its users', 30000);
    await fold.locator('summary').click();
    const users = fold.getByRole('list', { name: 'Users' });
    const text = (await users.textContent()) ?? '';
    assert(text.includes('cairn-admin'), `no cairn-admin in ${text}`);
    assert(/default\s+off/.test(text), `default is not shown off: ${text}`);
    assert(!/#[0-9a-f]{16}/.test(text), `a password hash is shown: ${text}`);
    for (const id of ['postgresql', 'mysql']) {
      const other = page.locator(`[data-recipe=${id}]`);
      if ((await other.locator('.state .ok').count()) === 0) continue;
      const f = other.getByTestId('db-contents');
      await f.locator('summary').click();
      const dbs = (await f.getByRole('list', { name: 'Databases' }).textContent()) ?? '';
      assert(dbs.length > 0, `${id}: no database listed`);
    }
    await card.scrollIntoViewIfNeeded();
    await shot('db-contents.png');
  });
}
