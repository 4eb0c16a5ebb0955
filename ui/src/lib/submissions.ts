/**
 * Recipe submissions (issue 22, `docs/api.md`, "Recipe publishing"): what the control plane
 * answers about a recipe sent for publishing, and the page's logic around it — the sentence an
 * admin reads before approving (what approval does and which capabilities the recipe gains), a
 * unified diff split into lines to colour, and an upload read from a file input (the `.rhai`
 * file and its companion files).
 */
import { t } from './i18n.svelte';

export type SubmissionState =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'superseded'
  | 'withdrawn'
  /** Taken back while pending by its submitter or an admin (`decidedBy`): not a rejection. */
  | 'cancelled';

/** Who withdrew an approved submission, and the version that withdrawal published. */
export type Withdrawn = { by: string; at: number; publishedAs: number };

/** A submission as listed (no files). */
export type Submission = {
  id: string;
  recipeId: string;
  version: number;
  /** The version published when it was sent; null for a new recipe. */
  baseVersion: number | null;
  submittedBy: string;
  /** The account it counts against, whichever of its tokens sent it: who may cancel it. */
  submitter: string;
  submittedAt: number;
  state: SubmissionState;
  decidedBy: string | null;
  decidedAt: number | null;
  /** Its withdrawal, once withdrawn. */
  withdrawn?: Withdrawn;
  /** The check's warnings, `line:col: warning: message` each. */
  warnings: string[];
  /** The capabilities it added to the version published when it was sent, in words. */
  grown: string[];
};

export type CapabilityChange = {
  kind: 'program' | 'path' | 'service' | 'action' | 'parameter';
  name: string;
  change: 'added' | 'removed' | 'changed' | 'kept';
  /** What it allows, in the engine's words. */
  power: string;
  /** What it allowed before, when that changed. */
  was?: string;
  /** Added, or its power changed: the recipe can do more than the published version. */
  grown: boolean;
};

export type SubmissionDiff = {
  fromVersion: number | null;
  toVersion: number;
  /** A unified diff of the recipe and its companion files. */
  source: string;
  /** False when the files differed too much to find the shortest diff within the control
   * plane's time budget: changed stretches are shown removed and added whole. */
  minimal?: boolean;
  capabilities: CapabilityChange[];
  grown: string[];
};

/** What a withdrawal publishes instead of the submission withdrawn. */
export type Restores =
  { kind: 'submission'; id: string; version: number } | { kind: 'shipped' } | { kind: 'nothing' };

/** What withdrawing the submission published now does, before it is done. */
export type WithdrawalPlan = {
  recipeId: string;
  fromVersion: number;
  /** The version servers get from their next job on; null when nothing is left. */
  publishedAs: number | null;
  restores: Restores;
  /** From what is published now to what will be. */
  diff: SubmissionDiff | null;
};

/** `GET /api/recipes/submissions/{id}`. */
export type SubmissionDetail = {
  submission: Submission;
  source: string;
  files: { name: string; text: string }[];
  diff?: SubmissionDiff;
  diffError?: string;
  diffErrorCode?: string;
  diffErrorArgs?: Record<string, string>;
  /** Only for the submission the registry publishes now. */
  withdrawal?: WithdrawalPlan;
  withdrawalError?: string;
};

/** What `POST /api/recipes/submissions` sends. */
export type Upload = { source: string; file: string; files: Record<string, string> };

/** `POST /api/recipes/submissions`'s answer. */
export type Submitted = {
  submission: Submission;
  diff: SubmissionDiff;
  superseded: string[];
  message: string;
  messageCode?: string;
  messageArgs?: Record<string, string>;
};

/** An approval's, rejection's, cancellation's or withdrawal's answer. */
export type Decided = {
  id: string;
  state: SubmissionState;
  grown?: string[];
  withdrawal?: WithdrawalPlan;
  message: string;
  messageCode?: string;
  messageArgs?: Record<string, string>;
};

/**
 * What withdrawing does, said before the admin types the recipe's id: agents refuse an older
 * version, so what came before is published again one version above.
 */
export function withdrawalPlanText(plan: WithdrawalPlan): string {
  const what = {
    recipe: plan.recipeId,
    from: String(plan.fromVersion),
    // Nothing left: the floor a new submission must reach, one above what was published.
    to: String(plan.publishedAs ?? plan.fromVersion + 1),
  };
  switch (plan.restores.kind) {
    case 'submission':
      return t('submissions.withdraw.planSubmission', {
        ...what,
        id: plan.restores.id,
        version: String(plan.restores.version),
      });
    case 'shipped':
      return t('submissions.withdraw.planShipped', what);
    default:
      return t('submissions.withdraw.planNothing', what);
  }
}

/** Whether `typed` confirms withdrawing `recipeId` (as the control plane checks it: trimmed). */
export function confirmsWithdrawal(typed: string, recipeId: string): boolean {
  return typed.trim() === recipeId;
}

/**
 * What approving does, said before the admin presses Approve: "Signs stamp v2 and offers it
 * to every server; it gains: program echo (prints its arguments)."
 */
export function approvalPlan(sub: Pick<Submission, 'recipeId' | 'version'>, grown: string[]) {
  const what = { recipe: sub.recipeId, version: String(sub.version) };
  return grown.length === 0
    ? t('submissions.planNoGrowth', what)
    : t('submissions.planGrows', { ...what, grown: grown.join(', ') });
}

/**
 * Whether the page offers "Cancel submission": on a pending submission, to its own account
 * (`username`, whichever token sent it) and to admins and owners (`mayDecide`). The control
 * plane checks the same (and refuses an admin's API token on another account's).
 */
export function mayCancel(
  sub: Pick<Submission, 'state' | 'submitter'>,
  username: string | null,
  mayDecide: boolean,
): boolean {
  if (sub.state !== 'pending') return false;
  return mayDecide || (!!username && sub.submitter === username);
}

export type DiffLine = { kind: 'head' | 'hunk' | 'add' | 'del' | 'same'; text: string };

/** A unified diff's lines, each with what it is (for colour and a marker read aloud). */
export function diffLines(diff: string): DiffLine[] {
  if (!diff) return [];
  const lines = diff.endsWith('\n') ? diff.slice(0, -1).split('\n') : diff.split('\n');
  return lines.map((text) => {
    if (text.startsWith('+++ ') || text.startsWith('--- ')) return { kind: 'head', text };
    if (text.startsWith('@@')) return { kind: 'hunk', text };
    if (text.startsWith('+')) return { kind: 'add', text };
    if (text.startsWith('-')) return { kind: 'del', text };
    return { kind: 'same', text };
  });
}

/** The file name a companion file must have: `ID.NAME`, not `.rhai` (the registry's naming). */
export function isCompanion(recipeFile: string, name: string): boolean {
  const id = recipeFile.replace(/\.rhai$/, '');
  return name.startsWith(`${id}.`) && !name.endsWith('.rhai');
}

/**
 * Reads the files chosen in the upload form: exactly one `.rhai` recipe, and its companion
 * files. Throws a sentence when the choice is not that.
 */
export async function readUpload(
  chosen: ArrayLike<{ name: string; text(): Promise<string> }>,
): Promise<Upload> {
  const all = Array.from(chosen);
  const recipes = all.filter((f) => f.name.endsWith('.rhai'));
  if (recipes.length !== 1) throw new Error(t('submissions.oneRecipe'));
  const recipe = recipes[0];
  const files: Record<string, string> = {};
  for (const f of all) {
    if (f === recipe) continue;
    if (!isCompanion(recipe.name, f.name)) {
      throw new Error(t('submissions.notCompanion', { name: f.name, recipe: recipe.name }));
    }
    files[f.name] = await f.text();
  }
  return { source: await recipe.text(), file: recipe.name, files };
}
