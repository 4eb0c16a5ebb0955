// Recipe publishing in the dashboard (issue 22), in Chromium against a control plane of its
// own: the owner uploads a new recipe from the catalogue's "Upload recipe" form (a broken one
// first: every diagnostic is said and nothing is stored), reviews it in Submissions (its source
// diff, its grown capability highlighted and said in words, what approval does), approves it
// and finds it published in the catalogue; a v2 whose capabilities grew waits as pending; an
// operator sees the submissions but no Approve or Reject. No agent: the real agent running an
// approved recipe is `tests/it/publish.rs`.
//
// Screenshot: ui/test-results/publish-review.png (a submission under review).
// Alone: `node tests/e2e/publish.mjs`.

import { join } from 'node:path';
import {
  assert,
  pageApi,
  results,
  runAlone,
  signIn,
  startControlPlane,
  tempDir,
} from './harness.mjs';

/** The recipe uploaded here, at `version`; v2 runs `echo` (its capabilities grew). */
function stamp(version, { broken = false } = {}) {
  const programs = version >= 2 ? '["echo"]' : '[]';
  const echo = version >= 2 ? `run("echo", ["stamp v${version}"]);` : '';
  return `const RECIPE = #{
    id: "stamp",
    title: "Stamp",
    category: "runtime",
    version: ${version},
    description: "Writes a stamp file naming its version.",
    estimated_size_mb: 1,
    os: [ #{ id: "debian", versions: ["11", "12", "13"] } ],
    params: [],
    capabilities: #{ programs: ${programs}, paths: ["/var/lib/cairn-stamp"], services: [] },
};

fn detect() { #{ installed: false, version: (), running: false } }

fn install(params) {
    ${broken ? 'apt_instal(["x"]);' : ''}
    ${echo}
    write_file("/var/lib/cairn-stamp/v${version}", "stamp", 0o644);
    #{ changed: true, version: "${version}" }
}
`;
}

const upload = async (page, version, opts) => {
  await page.getByTestId('recipe-files').setInputFiles({
    name: 'stamp.rhai',
    mimeType: 'text/plain',
    buffer: Buffer.from(stamp(version, opts)),
  });
  await page.getByRole('button', { name: 'Submit' }).click();
};

export async function publishFlow({ browser, step }) {
  const password = 'e2e-pub-' + Math.random().toString(36).slice(2) + '-Passw0rd';
  // An empty recipes directory: the catalogue holds only what is published here.
  const { base } = await startControlPlane({ password, recipes: tempDir('cairn-recipes-') });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const unexpected = [];
  page.on('pageerror', (e) => unexpected.push(String(e)));
  page.on('console', (m) => {
    // The refused upload is a failed request the browser logs; it is provoked on purpose.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      unexpected.push(m.text());
    }
  });
  await signIn(page, base, password);
  const api = pageApi(page);

  await step('publish: a recipe failing the check is refused with every diagnostic', async () => {
    await page.goto(`${base}/recipes`);
    await page.getByRole('heading', { name: 'Submissions' }).waitFor();
    await upload(page, 1, { broken: true });
    const form = page.locator('form.upload');
    await form.getByText('did not pass the check (1 error)').waitFor();
    await form
      .getByTestId('findings')
      .getByText(/^\d+:\d+: error: no function `apt_instal` exists/)
      .waitFor();
    const listed = (await api('GET', '/api/recipes/submissions')).body;
    assert(listed.length === 0, `something was stored: ${JSON.stringify(listed)}`);
  });

  await step('publish: an uploaded recipe is reviewed with its diff and approved', async () => {
    await upload(page, 1);
    await page.getByRole('status').filter({ hasText: 'waits for an admin' }).waitFor();
    await page.getByRole('button', { name: 'Review stamp v1' }).click();
    const review = page.getByTestId('submission');
    await review.getByText('A new recipe: nothing of it is published yet.').waitFor();
    await review.getByTestId('grown').filter({ hasText: 'path /var/lib/cairn-stamp' }).waitFor();
    const diff = (await review.getByTestId('source-diff').textContent()) ?? '';
    assert(diff.includes('+    version: 1,'), `no diff: ${diff}`);
    const plan = (await review.getByTestId('approval-plan').textContent()) ?? '';
    assert(
      plan.startsWith('Signs stamp v1 and offers it to every server; it gains: path'),
      `plan says: ${plan}`,
    );
    await review.getByRole('button', { name: 'Approve and sign' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Signed stamp v1 and offered it to every server' })
      .waitFor();
    await page.getByRole('heading', { name: /^Stamp/ }).waitFor();
    const catalogue = (await api('GET', '/api/recipes')).body;
    const entry = catalogue.find((r) => r.id === 'stamp');
    assert(entry?.published && entry.version === 1, `not published: ${JSON.stringify(entry)}`);
  });

  await step('publish: a v2 whose capabilities grew is highlighted and stays pending', async () => {
    await upload(page, 2);
    await page.getByRole('button', { name: 'Review stamp v2' }).click();
    const review = page.getByTestId('submission');
    await review.getByText('Compared with the published v1').waitFor();
    await review
      .getByTestId('grown')
      .filter({ hasText: 'Capabilities that grew: program echo (prints its arguments)' })
      .waitFor();
    const grownItem = review.locator('ul.caps li.grown');
    assert((await grownItem.count()) === 1, 'the grown capability is not highlighted');
    const color = await grownItem.evaluate((li) => getComputedStyle(li).fontWeight);
    assert(Number(color) >= 600, `the grown capability is not emphasised: ${color}`);
    const diff = (await review.getByTestId('source-diff').textContent()) ?? '';
    assert(diff.includes('-    version: 1,') && diff.includes('+    version: 2,'), diff);
    await page.screenshot({ path: join(results, 'publish-review.png'), fullPage: true });
    const entry = (await api('GET', '/api/recipes')).body.find((r) => r.id === 'stamp');
    assert(entry.version === 1, `the pending v2 was published: ${JSON.stringify(entry)}`);
  });

  await step('publish: an operator reviews submissions but is offered no decision', async () => {
    const invite = await api('POST', '/api/users', {
      username: 'olga',
      role: 'operator',
      groups: ['web'],
    });
    assert(invite.status === 201, JSON.stringify(invite));
    const operatorPassword = 'olga-' + Math.random().toString(36).slice(2) + '-Passw0rd';
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const op = await other.newPage();
    await op.goto(`${base}/login`);
    const accepted = await pageApi(op)('POST', '/api/invites/accept', {
      token: invite.body.token,
      password: operatorPassword,
    });
    assert(accepted.status === 200, JSON.stringify(accepted));
    await op.getByLabel('User name').fill('olga');
    await op.getByLabel('Password').fill(operatorPassword);
    await op.getByRole('button', { name: 'Sign in' }).click();
    await op.waitForURL(`${base}/`);
    await op.goto(`${base}/recipes`);
    await op.getByRole('button', { name: 'Review stamp v2' }).click();
    const review = op.getByTestId('submission');
    await review.getByText('An admin approves or rejects it.').waitFor();
    assert((await op.getByRole('button', { name: 'Approve and sign' }).count()) === 0, 'approve');
    assert((await op.getByRole('button', { name: 'Reject' }).count()) === 0, 'reject');
    await other.close();
  });

  await step('publish: no script error in the page', async () => {
    assert(unexpected.length === 0, unexpected.join('\n'));
  });
  await context.close();
}

await runAlone(import.meta.url, publishFlow);
