// Detection that sees what is there (issue 15, item 11), with a real agent: runtimes installed
// by version managers in a user's home — rustup's and nvm's layouts, made here by hand — show
// on their cards with where they came from, and the page offers no install over them. The
// planted programs would leave a marker if anything ran them: detection reads names and
// manifests only.

import { existsSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { assert, waitFor } from './harness.mjs';

const HOME = `/home/cairn-e2e-${process.pid}`;
const MARKER = `/tmp/cairn-e2e-ran-${process.pid}`;
const RUST = '1.70.0';
const NODE = '18.19.0';

function plant(path) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\ntouch ${MARKER}\necho 99.0.0\n`);
  chmodSync(path, 0o755);
}

/** rustup's and nvm's folders for a user, as they leave them, with programs that must not run. */
export function makeUserInstalls() {
  const toolchain = join(HOME, '.rustup/toolchains', `${RUST}-x86_64-unknown-linux-gnu`);
  mkdirSync(join(toolchain, 'lib/rustlib'), { recursive: true });
  writeFileSync(
    join(toolchain, 'lib/rustlib/multirust-channel-manifest.toml'),
    `manifest-version = "2"\n[pkg.cargo]\nversion = "${RUST} (ec8a8a0ca 2023-04-25)"\n` +
      `[pkg.rustc]\nversion = "${RUST} (90c541806 2023-05-31)"\n`,
  );
  plant(join(toolchain, 'bin/rustc'));
  plant(join(HOME, '.cargo/bin/rustc'));
  plant(join(HOME, `.nvm/versions/node/v${NODE}/bin/node`));
}

export function removeUserInstalls() {
  rmSync(HOME, { recursive: true, force: true });
  rmSync(MARKER, { force: true });
}

export async function detectionFlow({ page, step, shot }) {
  const user = HOME.split('/').pop();
  const card = (id) => page.locator(`[data-recipe=${id}]`);
  try {
    await step("runtimes in a user's home show with where they came from", async () => {
      makeUserInstalls();
      await page.reload();
      for (const [id, version, source] of [
        ['rust', RUST, `rustup (${user})`],
        ['node', NODE, `nvm (${user})`],
      ]) {
        // More than two fold behind a summary: the list is then hidden, and still there.
        const list = card(id).getByRole('list', {
          name: 'Installations found on the server',
          includeHidden: true,
        });
        await waitFor(
          async () => {
            const text = (await list.count()) ? ((await list.textContent()) ?? '') : '';
            return text.includes(version) && text.includes(source);
          },
          `the ${id} card to list ${version} from ${source}`,
          30000,
        );
        // Installed, so no offer to install over it.
        assert((await card(id).locator('.state').textContent())?.includes('✓'), `${id} state`);
        assert(
          (await card(id).getByRole('button', { name: 'Install' }).count()) === 0,
          `the ${id} card offers an install over what it found`,
        );
      }
      assert(!existsSync(MARKER), 'detection ran a program it found in a user home');
      await shot('detected-installations.png');
    });
  } finally {
    removeUserInstalls();
  }
}
