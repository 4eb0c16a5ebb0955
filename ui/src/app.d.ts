// See https://svelte.dev/docs/kit/types#app.d.ts
import type { Key } from '$lib/i18n.svelte';

declare global {
  namespace App {
    /**
     * What the error page (`routes/+error.svelte`) shows: a sentence that says what happened
     * and what to do. `key` names it in the i18n files when the dashboard wrote it, so it
     * follows the language switch; the API's sentences come as `message` alone.
     */
    interface Error {
      message: string;
      key?: Key;
    }
  }
}
export {};
