/**
 * Client-side only: every page's data comes from the API with the session cookie, through the
 * page's own `load` (`+page.ts`, `$lib/load`).
 */
export const ssr = false;
export const prerender = false;
