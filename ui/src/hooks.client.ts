/**
 * Failures no `load` expected: an address that matches no page, or a fault in the dashboard
 * itself. Both reach the error page as a sentence; the fault's details go to the browser's
 * console, for whoever debugs it, and never to the page.
 */

import type { HandleClientError } from '@sveltejs/kit';
import { t } from '$lib/i18n.svelte';

export const handleError: HandleClientError = ({ error, status }) => {
  if (status === 404) return { message: t('error.notFound'), key: 'error.notFound' };
  console.error(error);
  return { message: t('error.unexpected'), key: 'error.unexpected' };
};
