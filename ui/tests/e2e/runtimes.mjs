// The runtime part of the browser test (with a real agent, as root): Server Settings shows the
// runtimes the agent detected; Ruby — and Go at the same time — are installed for real through
// the page: plan preview, the job's lines in the console while it runs, the card turning
// installed with the version the program itself reports.
//
// Both are purged first (as the recipes' own tests do: only these packages, no autoremove), so
// the install is real every run. If Go stays detected (a Go in /usr/local/bin from elsewhere),
// only Ruby is installed.

import { spawnSync } from 'node:child_process';
import { assert, clickInstall, waitFor } from './harness.mjs';

const PACKAGES = {
  ruby: [
    'puma',
    'ruby-bundler',
    'bundler',
    'ruby-dev',
    'ruby',
    'ruby3.1',
    'ruby3.1-dev',
    'libruby3.1',
  ],
  go: ['golang-go', 'golang-1.19-go', 'golang-src', 'golang-1.19-src'],
};
const OWN_VERSION = {
  ruby: ['/usr/bin/ruby', ['--version']],
  go: ['/usr/bin/go', ['version']],
};

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.endsWith(' installed');
}

/** Purges the installed ones among the runtimes' packages (waiting for other apt users). */
export function purgeRuntimes() {
  const present = Object.values(PACKAGES).flat().filter(installed);
  if (present.length === 0) return;
  const r = spawnSync(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=300', 'purge', '-y', '-q', ...present],
    { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  if (r.status !== 0) throw new Error(`apt-get purge failed: ${r.stderr}`);
}

export async function runtimeFlow({ page, step, shot }) {
  const card = (id) => page.locator(`[data-recipe=${id}]`);
  let second = null;

  await step('Server Settings shows the detected runtimes', async () => {
    for (const id of ['python', 'node', 'ruby', 'go', 'rust']) await card(id).waitFor();
    // Python is on this machine (the system needs it): detected, with its version.
    // The system's Python, as the agent runs it (not a python3 earlier on this PATH).
    const own = spawnSync('/usr/bin/python3', ['--version'], { encoding: 'utf8' }).stdout;
    await waitFor(async () => {
      const text = (await card('python').locator('.state').textContent()) ?? '';
      return text.includes('✓') && own.includes(text.replace('✓', '').trim());
    }, `the Python card to show ${own.trim()}`);
    await card('ruby').getByText('Not installed').waitFor();
    await card('ruby').getByRole('button', { name: 'Install' }).waitFor();
    if ((await card('go').getByRole('button', { name: 'Install' }).count()) > 0) second = 'go';
  });

  await step('Go: the page offers its versions, each saying where it comes from', async () => {
    const go = card('go');
    const change = go.getByTestId('runtime-change');
    await (
      (await change.count()) > 0 ? change : go.getByRole('button', { name: 'Install' })
    ).click();
    const form = page.getByTestId('runtime-choice');
    await form.waitFor();
    const text = (await form.textContent()) ?? '';
    for (const [option, note] of [
      ['distribution', "Debian's golang-go package"],
      ['backports', "Debian's backports"],
      ['1.26.1', 'pinned by its SHA-256'],
    ]) {
      assert(text.includes(option) && text.includes(note), `no ${option} with "${note}": ${text}`);
    }
    assert(
      await form.getByRole('radio', { name: /distribution/ }).isChecked(),
      'the default is not chosen',
    );
    await shot('runtime-choice.png');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
  });

  await step(`Ruby${second ? ' and Go at once' : ''}: plan, live lines, installed`, async () => {
    const plan = page.getByRole('dialog', { name: /What will change/ });
    const preview = async (id) => {
      await clickInstall(page, card(id).getByRole('button', { name: 'Install' }));
      await plan.waitFor();
      await waitFor(
        async () => (await plan.locator('.plan').getAttribute('aria-busy')) === 'false',
        `the plan for ${id}`,
        120000,
      );
      await plan.locator('.plan').getByRole('listitem').first().waitFor();
      const commands = await plan.locator('ol.plan-list li').allTextContents();
      assert(
        commands.some((c) => c.startsWith('$ apt-get') && c.includes('install')),
        `the plan for ${id} lists no apt-get install: ${commands.join(' | ')}`,
      );
      return commands;
    };

    const rubyPlan = await preview('ruby');
    assert(
      rubyPlan.some((c) => /\bruby\b/.test(c)),
      `the Ruby plan does not install ruby: ${rubyPlan.join(' | ')}`,
    );
    await shot('plan-ruby.png');
    await plan.getByTestId('plan-confirm').click();
    if (second) {
      await preview(second);
      await plan.getByTestId('plan-confirm').click();
    }

    // The Ruby job's own lines, picked with the console's job filter, while its card is busy.
    const filter = page.getByLabel('Show the lines of');
    await waitFor(
      async () => (await filter.locator('option', { hasText: /^ruby · runtime/ }).count()) > 0,
      'the Ruby job in the console filter',
      60000,
    );
    const option = filter.locator('option', { hasText: /^ruby · runtime/ });
    await filter.selectOption((await option.getAttribute('value')) ?? '');
    const rows = page.getByTestId('console').locator('.row');
    let seenWhileBusy = false;
    await waitFor(
      async () => {
        const busy = (await card('ruby').getAttribute('aria-busy')) === 'true';
        const text = (await rows.allTextContents()).join('\n');
        seenWhileBusy = busy && text.includes('apt-get') && text.includes('ruby');
        return seenWhileBusy || !busy;
      },
      'lines of the Ruby job',
      300000,
      100,
    );
    assert(seenWhileBusy, 'no line of the Ruby job appeared while it ran');
    await shot('ruby-installing.png');
    await filter.selectOption('');

    for (const id of second ? ['ruby', second] : ['ruby']) {
      const state = card(id).locator('.state');
      await waitFor(
        async () =>
          /✓\s*\d+\.\d+/.test((await state.textContent()) ?? '') ||
          (await card(id).locator('.error').count()) > 0,
        `the ${id} card to turn installed`,
        900000,
        500,
      );
      const err = card(id).locator('.error');
      if (await err.count()) throw new Error(`${id} failed: ${await err.textContent()}`);
      const shown = ((await state.textContent()) ?? '').replace('✓', '').trim();
      const [prog, args] = OWN_VERSION[id];
      const own = spawnSync(prog, args, { encoding: 'utf8' }).stdout;
      assert(own.includes(shown), `the ${id} card says ${shown}, ${prog} says ${own.trim()}`);
    }
    await shot('runtimes-installed.png');
  });
}
