// Client-side only: every page's data comes from the API with the session cookie.
export const ssr = false;
export const prerender = false;
