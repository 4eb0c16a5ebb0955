/**
 * An action the user starts on a page that is already shown (signing in, "Reload from disk",
 * creating an install command): whether it is running, and its failure as the API client's
 * sentence, said next to what the user did. A failed page load is the error page instead
 * (`$lib/load`).
 */
export class Action {
  busy = $state(false);
  error = $state('');

  /** Runs `act`; returns whether it succeeded. */
  async run(act: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.error = '';
    try {
      await act();
      return true;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
