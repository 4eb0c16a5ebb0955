import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: the control plane answers every unknown path with index.html, and
    // every page needs the session cookie to have data, so nothing is prerendered.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // Only this site's scripts, styles and sockets; kit hashes its own inline start-up script.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
      },
    },
  },
};
