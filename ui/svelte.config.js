import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// SvelteKit's route announcer (for screen readers) carries a style attribute. Rather than allow
// every inline style, the policy allows that one, by hash, read from the installed kit.
function announcerStyleHash() {
  const kit = dirname(createRequire(import.meta.url).resolve('@sveltejs/kit/package.json'));
  const root = readFileSync(join(kit, 'src/core/sync/write_root.js'), 'utf8');
  const style = /id="svelte-announcer"[^>]*style="([^"]*)"/.exec(root)?.[1];
  if (!style) throw new Error('the announcer style was not found in @sveltejs/kit');
  return `'sha256-${createHash('sha256').update(style).digest('base64')}'`;
}

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: the control plane answers every unknown path with index.html, and
    // every page needs the session cookie to have data, so nothing is prerendered.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // Only this site's scripts, styles and sockets; kit hashes its own inline start-up script.
    // The control plane sends the same policy as a header, taking the 'sha256-…' sources from
    // this one and adding what a <meta> policy cannot say (frame-ancestors); see
    // control-plane/src/http/headers.rs.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-hashes', announcerStyleHash()],
        'object-src': ['none'],
        'base-uri': ['none'],
        'form-action': ['self'],
      },
    },
  },
};
