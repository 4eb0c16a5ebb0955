/**
 * How a page's `load` (`+page.ts`) reads the API: a call that answers 401 sends the user to the
 * sign-in page, and any other failure becomes the one error page (`routes/+error.svelte`) with
 * the API client's sentence, so no page handles a failed load itself.
 */

import { error, isHttpError, isRedirect, redirect } from '@sveltejs/kit';
import { ApiError } from './api';

/** The sign-in page, coming back to `url` (path and query only) once signed in. */
export function loginPath(url: URL): string {
  return `/login?next=${encodeURIComponent(url.pathname + url.search)}`;
}

/**
 * Runs a load's API calls. Their sentences reach the error page as they are ("The control plane
 * cannot be reached; check that it is running."); a control plane that cannot be reached
 * answers no status, so it shows as 503.
 */
export async function fromApi<T>(url: URL, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    // What the load itself threw on purpose (`error(404, …)`) goes through as it is.
    if (isHttpError(e) || isRedirect(e)) throw e;
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) redirect(307, loginPath(url));
    error(e.status >= 400 && e.status <= 599 ? e.status : 503, { message: e.message });
  }
}

/**
 * A call a lower role is refused (403): its answer, or null, so a page shows what the role may
 * read and leaves out the rest instead of failing whole (issue 20).
 */
export async function unlessRefused<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return null;
    throw e;
  }
}
