// The previews part of the browser test (with a real agent, as root): a preview is a plan a
// person reads, not a job run. Previewing a MariaDB setup and pressing Cancel leaves no line in
// the live console and no job in the history; the Ruby preview (Ruby was purged first) lists
// its packages with apt's own sizes, "Show commands" reveals the exact argv, and "Confirm and
// run" stays disabled until the plan has reached the page: the test holds the PLAN_RESULT
// message on the page's socket, checks the button while it is held, then lets it through.
//
// It runs in a tab of its own, whose socket is routed through the test; the tab is closed after.

import { assert, results, waitFor } from './harness.mjs';
import { join } from 'node:path';

export async function planFlow({ page: main, step, base, nodeId }) {
  const page = await main.context().newPage();
  let hold = false;
  let held = [];
  let pageSide = null;
  // The page's dashboard socket, through the test: PLAN_RESULT is held while `hold` is set.
  await page.routeWebSocket(/\/ws\/dashboard/, (ws) => {
    const server = ws.connectToServer();
    pageSide = ws;
    server.onMessage((m) => {
      if (hold && String(m).includes('"type":"PLAN_RESULT"')) held.push(m);
      else ws.send(m);
    });
    ws.onMessage((m) => server.send(m));
  });
  const jobs = async () => {
    const r = await page.request.get(`${base}/api/jobs?node=${nodeId}`);
    assert(r.ok(), `GET /api/jobs answered ${r.status()}`);
    return r.json();
  };
  const consoleText = async () =>
    (await page.getByTestId('console').locator('.row').allTextContents()).join('\n');
  const dialog = page.getByRole('dialog', { name: /What will change/ });
  const confirm = dialog.getByTestId('plan-confirm');
  const ready = () =>
    waitFor(
      async () => (await dialog.locator('.plan').getAttribute('aria-busy')) === 'false',
      'the plan',
      120000,
    );

  await page.goto(`${base}/nodes/${nodeId}`);
  await page.getByText('Connected').waitFor();

  await step(
    'a MariaDB preview says what it would create, and Cancel leaves no trace',
    async () => {
      const name = `uxp${Date.now().toString(36)}`;
      const before = await jobs();
      const card = page.locator('[data-recipe=mysql]');
      await card.getByRole('button', { name: /Set up|Retry/ }).click();
      const form = page.getByRole('dialog', { name: 'Set up MySQL (MariaDB)' });
      await form.getByLabel('Database name').fill(name);
      await form.getByLabel('User name').fill(`${name}_user`);
      await form.getByRole('button', { name: 'Preview changes' }).click();
      await dialog.waitFor();
      await ready();
      const accounts = (await dialog.getByTestId('plan-accounts').textContent()) ?? '';
      assert(
        accounts.includes(`Create the user ${name}_user`) &&
          accounts.includes(`Create the database ${name}`),
        `the plan does not say what it creates: ${accounts}`,
      );
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      // The plan has fully arrived (its last message is PLAN_RESULT): nothing of it can come later.
      const text = await consoleText();
      assert(!text.includes(name), `the console mentions the preview: ${text}`);
      assert(!/Created|preview ready/.test(text), `a console line claims a change: ${text}`);
      const after = await jobs();
      assert(
        after.length === before.length && after.every((j) => j.kind !== 'PLAN_REQUEST'),
        `the preview is in the job history: ${JSON.stringify(after.slice(0, 3))}`,
      );
    },
  );

  await step(
    'a Ruby preview: packages with sizes, Show commands, Confirm waits for the plan',
    async () => {
      const card = page.locator('[data-recipe=ruby]');
      const before = await jobs();
      hold = true;
      await card.getByRole('button', { name: 'Install' }).click();
      await dialog.waitFor();
      // The server has answered, but the answer has not reached the page yet.
      await waitFor(async () => held.length > 0, 'the plan to be answered', 120000);
      assert(await confirm.isDisabled(), '"Confirm and run" is enabled before the plan arrived');
      assert(
        (await dialog.locator('.plan').getAttribute('aria-busy')) === 'true',
        'the dialog does not say it waits for the plan',
      );
      hold = false;
      for (const m of held) pageSide.send(m);
      held = [];
      await ready();
      assert(await confirm.isEnabled(), '"Confirm and run" stays disabled once the plan arrived');
      const packages = (await dialog.getByTestId('plan-packages').allTextContents()).join('\n');
      assert(/Install ruby\b/.test(packages), `the plan does not install ruby: ${packages}`);
      assert(
        /\d+(\.\d)? [KMG]B download, \d+(\.\d)? [KMG]B on disk/.test(packages),
        `the packages have no sizes in words: ${packages}`,
      );
      const totals = (await dialog.getByTestId('plan-totals').textContent()) ?? '';
      assert(/[KMG]B to download, .*[KMG]B on disk/.test(totals), `no totals: ${totals}`);
      const commands = dialog.getByTestId('plan-commands');
      assert(!(await commands.isVisible()), 'the commands show before "Show commands"');
      await dialog.getByText(/^Show commands/).click();
      await commands.waitFor();
      const argv = (await commands.textContent()) ?? '';
      assert(argv.includes('$ apt-get') && argv.includes('install'), `no apt-get argv: ${argv}`);
      await page.screenshot({ path: join(results, 'plan-dialog.png'), fullPage: true });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      const text = await consoleText();
      assert(!/ruby|apt-get|preview ready/i.test(text), `the console shows the preview: ${text}`);
      assert((await jobs()).length === before.length, 'the preview became a job');
    },
  );

  await page.close();
}
