// The backup part of the browser test (with a real agent), when the rsync and S3 backup recipes
// are in the catalogue: the forms refuse what the recipes refuse, next to the field, in the
// page; a valid form leads to the plan preview, whose request never carries the S3 secret key.
// It stops at the preview: configuring for real needs an SSH or S3 server, which the recipes'
// own tests provide.

import { assert, waitFor } from './harness.mjs';

export async function backupFlow({ page, step, shot }) {
  if ((await page.locator('[data-recipe=s3], [data-recipe=rsync]').count()) === 0) {
    console.log('skip backup forms: no rsync or S3 recipe in the catalogue');
    return;
  }
  const sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));

  await step('backup forms: validation next to the fields, then the plan preview', async () => {
    const secret = 'e2eSecret' + Math.random().toString(36).slice(2, 10);
    for (const id of ['rsync', 's3']) {
      const card = page.locator(`[data-recipe=${id}]`);
      if ((await card.count()) === 0) continue;
      await card.getByText('Last restore test').waitFor();
      await card.getByRole('button', { name: /Configure backups|Change/ }).click();
      const form = page.getByTestId('backup-form');
      await form.waitFor();
      // rsync's first setup opens "Save" only after a connection test, which checks the target
      // first (backupday2.mjs goes on to a real target).
      const check = id === 'rsync' ? '2. Test connection' : 'Preview changes';
      await form.getByRole('button', { name: check }).click();
      await form.getByText('Required.').first().waitFor();
      if (id === 'rsync') {
        await form.getByLabel(/^Target/).fill('root@host:relative');
        await form.getByText('user@host:/absolute/path').waitFor();
        await form.getByLabel(/^Target/).fill('backup@127.0.0.1:/srv/cairn-e2e');
      } else {
        await form.getByLabel(/^Bucket/).fill('Bad_Bucket');
        await form.getByText(/3 to 63 characters: a–z, 0–9, dots and hyphens, starting/).waitFor();
        await form.getByLabel(/^Bucket/).fill('cairn-e2e');
        await form.getByLabel(/^Access key ID/).fill('AKIAE2E');
        await form.getByLabel(/^Secret access key/).fill(secret);
      }
      await form.getByLabel('How often').selectOption('custom');
      await form.getByLabel(/^Schedule \(cron/).fill('0 25 * * *');
      if (id === 's3') await form.getByRole('button', { name: 'Preview changes' }).click();
      await form.getByText(/Five fields/).waitFor();
      await form.getByLabel(/^Schedule \(cron/).fill('15 2 * * *');
      await page.setViewportSize({ width: 375, height: 800 });
      await page.waitForTimeout(300);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 375, `the ${id} form is ${width}px wide at 375px`);
      await shot(`backup-form-${id}-375.png`);
      await page.setViewportSize({ width: 1280, height: 900 });
      if (id === 'rsync') {
        await form.getByRole('button', { name: 'Cancel' }).click();
        continue;
      }
      await form.getByRole('button', { name: 'Preview changes' }).click();
      const plan = page.getByRole('dialog', { name: /What will change/ });
      await plan.waitFor();
      await waitFor(
        async () => (await plan.locator('.plan').getAttribute('aria-busy')) === 'false',
        `the ${id} plan`,
        120000,
      );
      await shot(`backup-plan-${id}.png`);
      await plan.getByRole('button', { name: 'Cancel' }).click();
      await plan.waitFor({ state: 'detached' });
    }
    const request = sent.find((m) => m.includes('"PLAN_REQUEST"') && m.includes('"s3"'));
    if (request) assert(!request.includes(secret), 'the S3 secret key went out with the plan');
    assert(!sent.some((m) => m.includes(secret)), 'the S3 secret key was sent without a job');
    const html = await page.content();
    assert(!html.includes(secret), 'the S3 secret key is still in the page');
  });
}
