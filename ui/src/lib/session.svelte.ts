/**
 * Who is signed in, shared by the layout and the pages.
 */

export const session = $state<{ username: string | null; checked: boolean }>({
  username: null,
  checked: false,
});
