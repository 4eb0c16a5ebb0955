// The one error page, in Chromium against the real control plane: a page whose load fails shows
// what happened in a sentence (the API's, or the dashboard's own in the user's language), with
// "Try again" and the way back to the node list; a load that meets an expired session goes to
// the sign-in page and back to where the user was going. Run by run.mjs; needs no root. Its
// own browser context: the failed requests it provokes are logged by the browser, and must not
// count as the main test's page errors.

import { join } from 'node:path';
import { assert, results, signIn } from './harness.mjs';

export async function errorFlow({ browser, base, password, step }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const unexpected = [];
  page.on('pageerror', (e) => unexpected.push(String(e)));
  page.on('console', (m) => {
    // The browser reports every failed request; the test provokes those on purpose.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      unexpected.push(m.text());
    }
  });
  const heading = page.getByRole('heading', { name: 'This page could not be shown' });
  const alert = page.getByRole('alert');
  await signIn(page, base, password);

  await step(
    'a failed load shows the error page: the API sentence, Try again, the way back',
    async () => {
      await page.goto(`${base}/jobs/job-that-does-not-exist`);
      await heading.waitFor();
      assert(
        (await alert.textContent()) === 'there is no job with this id',
        `error page says: ${await alert.textContent()}`,
      );
      await page.getByRole('button', { name: 'Try again' }).waitFor();
      await page.screenshot({ path: join(results, 'error-page.png'), fullPage: true });
      await page.getByRole('link', { name: 'Back to the node list' }).click();
      await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    },
  );

  await step('a missing node and an unknown address are said in the user language', async () => {
    await page.goto(`${base}/nodes/node-that-does-not-exist`);
    await heading.waitFor();
    await alert.filter({ hasText: 'There is no such node' }).waitFor();
    await page.getByLabel('Language').selectOption('fr');
    await alert.filter({ hasText: 'Ce serveur n’existe pas' }).waitFor();
    await page.getByLabel('Langue').selectOption('en');
    await page.goto(`${base}/no/such/page`);
    await heading.waitFor();
    await alert.filter({ hasText: 'There is no page at this address' }).waitFor();
  });

  await step('an unreachable control plane is a sentence; Try again loads the page', async () => {
    const audit = `${base}/api/audit`;
    await page.route(audit, (route) => route.abort('connectionrefused'));
    await page.goto(`${base}/audit`);
    await heading.waitFor();
    await alert.filter({ hasText: 'The control plane cannot be reached' }).waitFor();
    await page.unroute(audit);
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByRole('cell', { name: 'Signed in' }).first().waitFor();
  });

  await step('a load with an expired session goes to sign in, then to that page', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await context.clearCookies();
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.waitForURL(`${base}/login?next=%2Fjobs`);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/jobs`);
    await page.getByRole('heading', { name: 'Job history' }).waitFor();
  });

  await step('the error pages raised no script error', async () => {
    assert(unexpected.length === 0, unexpected.join('\n'));
  });
  await context.close();
}
