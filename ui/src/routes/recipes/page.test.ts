import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, type Recipe } from '$lib/api';
import { en } from '$lib/i18n/en';
import { locale } from '$lib/i18n.svelte';
import { session } from '$lib/session.svelte';
import type { Submission, SubmissionDetail } from '$lib/submissions';
import type { PageLoadEvent as LoadEvent } from './$types';

const go: Recipe = {
  id: 'go',
  file: 'go.rhai',
  title: 'Go',
  category: 'runtime',
  version: 2,
  params: [],
  capabilities: { programs: ['tar', 'go'], paths: ['/opt/cairn/go'], services: [] },
  programs: [
    {
      program: 'tar',
      power: 'extracts archives into /opt/cairn/go',
      translations: { fr: 'décompresse des archives dans /opt/cairn/go' },
    },
    {
      program: 'go',
      power: 'its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    },
  ],
  paths: [
    {
      path: '/opt/cairn/go',
      power: 'may write here; nothing on the server runs or obeys these files by default',
    },
    {
      path: '/etc/cron.d/x',
      power: 'may write here; cron runs what is written there, as root',
      translations: { fr: 'peut écrire ici ; cron lance ce qui y est écrit, en root' },
    },
  ],
  source: '',
  published: true,
};

const pending: Submission = {
  id: 'sub-0123456789ab',
  recipeId: 'go',
  version: 3,
  baseVersion: 2,
  submittedBy: 'olga (token ci)',
  submitter: 'olga',
  submittedAt: 1_700_000_000,
  state: 'pending',
  decidedBy: null,
  decidedAt: null,
  warnings: [],
  grown: ['program curl (downloads files)'],
};

const detail: SubmissionDetail = {
  submission: pending,
  source: '',
  files: [],
  diff: {
    fromVersion: 2,
    toVersion: 3,
    source:
      '--- go.rhai v2 (published)\n+++ go.rhai v3 (submitted)\n@@ -1 +1 @@\n-    version: 2,\n+    version: 3,\n',
    capabilities: [
      { kind: 'program', name: 'curl', change: 'added', power: 'downloads files', grown: true },
      { kind: 'program', name: 'tar', change: 'kept', power: 'extracts archives', grown: false },
    ],
    grown: ['program curl (downloads files)'],
  },
};

vi.mock('$lib/api', async (original) => ({
  ...(await original<typeof import('$lib/api')>()),
  api: {
    recipes: async () => [go],
    reloadRecipes: async () => [go],
    submissions: async () => {
      // A viewer is refused the list: the page then shows no Submissions view.
      if (session.role === 'viewer') throw new Error('refused');
      return [pending];
    },
    submission: async () => detail,
    approveSubmission: async () => ({
      id: pending.id,
      state: 'approved',
      message: 'Signed go v3 and offered it to every server; it gains: program curl.',
    }),
    rejectSubmission: async () => ({ id: pending.id, state: 'rejected', message: 'Rejected.' }),
    cancelSubmission: async () => ({
      id: pending.id,
      state: 'cancelled',
      message: 'Cancelled go v3: it was never published and no longer waits for review.',
      messageCode: 'submissions.cancelled',
      messageArgs: { target: 'go v3' },
    }),
    submitRecipe: async () => ({}),
  },
}));

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

/** The page as the router shows it: its `load` first, then the page with that data. */
async function showPage() {
  const { default: Page } = await import('./+page.svelte');
  const { load } = await import('./+page');
  const data = await load({ url: new URL('http://cairn.test/recipes') } as LoadEvent);
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(Page, { target, props: { data } });
  await tick();
  await new Promise((r) => setTimeout(r, 0));
  flushSync();
  return target;
}

describe('recipe catalogue (threats.md row 30)', () => {
  it('says what each declared program can be made to do, not just its name', async () => {
    const target = await showPage();
    const items = [...target.querySelectorAll('ul.powers:not(.paths) li')].map(
      (li) => li.textContent,
    );
    const paths = [...target.querySelectorAll('ul.powers.paths li')].map((li) => li.textContent);
    expect(paths).toEqual([
      '/opt/cairn/go: may write here; nothing on the server runs or obeys these files by default',
      '/etc/cron.d/x: may write here; cron runs what is written there, as root',
    ]);
    expect(items).toEqual([
      'tar: extracts archives into /opt/cairn/go',
      'go: its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    ]);
  });

  it('says the powers in the engine’s French on a French page, English where it has none', async () => {
    locale.lang = 'fr';
    const target = await showPage();
    const text = (sel: string) => [...target.querySelectorAll(sel)].map((li) => li.textContent);
    expect(text('ul.powers:not(.paths) li')).toEqual([
      'tar : décompresse des archives dans /opt/cairn/go',
      'go : its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    ]);
    expect(text('ul.powers.paths li')[1]).toBe(
      '/etc/cron.d/x : peut écrire ici ; cron lance ce qui y est écrit, en root',
    );
    locale.lang = 'en';
  });

  it('offers "Reload from disk" to admins only (issue 20)', async () => {
    session.role = 'operator';
    const target = await showPage();
    const labels = [...target.querySelectorAll('button')].map((b) => b.textContent);
    expect(labels).not.toContain(en['recipes.reload']);
    expect(target.querySelectorAll('article.recipe')).toHaveLength(1);
  });

  it('keeps the catalogue when "Reload from disk" fails, and says why next to the button', async () => {
    session.role = 'admin';
    const target = await showPage();
    const sentence = 'The control plane cannot be reached; check that it is running.';
    vi.spyOn(api, 'reloadRecipes').mockRejectedValue(new ApiError(0, sentence));
    const reload = [...target.querySelectorAll('button')].find(
      (b) => b.textContent === en['recipes.reload'],
    );
    reload?.click();
    await vi.waitFor(() => {
      flushSync();
      expect(target.querySelector('p.error[role=alert]')?.textContent).toBe(sentence);
    });
    expect(target.querySelectorAll('article.recipe')).toHaveLength(1);
    expect(reload?.disabled).toBe(false);
  });
});

/** Opens the pending submission's review. */
async function review(target: HTMLElement) {
  const button = [...target.querySelectorAll('button')].find(
    (b) => b.textContent?.trim() === en['submissions.review'],
  );
  button?.click();
  await vi.waitFor(() => {
    flushSync();
    expect(target.querySelector('[data-testid=submission]')).not.toBeNull();
  });
}

const buttons = (target: HTMLElement) =>
  [...target.querySelectorAll('button')].map((b) => b.textContent?.trim());

describe('recipe submissions (issue 22)', () => {
  it('shows an admin the diff, the grown capability in words and what approval does', async () => {
    session.role = 'admin';
    const target = await showPage();
    expect(target.querySelector('td.grown')?.textContent).toBe('program curl (downloads files)');
    await review(target);
    expect(target.querySelector('[data-testid=grown]')?.textContent).toContain(
      'Capabilities that grew: program curl (downloads files)',
    );
    const grownItem = target.querySelector('ul.caps li.grown');
    expect(grownItem?.textContent).toContain('program curl');
    expect(grownItem?.textContent).toContain('(added, grown)');
    expect(target.querySelectorAll('ul.caps li.grown')).toHaveLength(1);
    expect(target.querySelector('pre.diff .add')?.textContent).toBe('+    version: 3,');
    expect(target.querySelector('pre.diff .del')?.textContent).toBe('-    version: 2,');
    expect(target.querySelector('[data-testid=approval-plan]')?.textContent).toBe(
      'Signs go v3 and offers it to every server; it gains: program curl (downloads files).',
    );
    expect(buttons(target)).toContain(en['submissions.approve']);
    expect(buttons(target)).toContain(en['submissions.reject']);
    const approve = [...target.querySelectorAll('button')].find(
      (b) => b.textContent?.trim() === en['submissions.approve'],
    );
    const spy = vi.spyOn(api, 'approveSubmission');
    approve?.click();
    await vi.waitFor(() => {
      flushSync();
      expect(target.querySelector('p[role=status]')?.textContent).toContain('Signed go v3');
    });
    expect(spy).toHaveBeenCalledWith(pending.id);
  });

  it('names power gained outside capabilities and says when the diff is not minimal (threats.md rows 53, 54)', async () => {
    session.role = 'admin';
    const saved = detail.diff;
    if (!saved) throw new Error('the fixture has a diff');
    detail.diff = {
      ...saved,
      minimal: false,
      capabilities: [
        ...saved.capabilities,
        {
          kind: 'action',
          name: 'drop_db',
          change: 'changed',
          power: 'any operator who sees the server runs it, without a confirmation',
          was: 'destructive: run only by an admin',
          grown: true,
        },
      ],
    };
    try {
      const target = await showPage();
      await review(target);
      const grown = [...target.querySelectorAll('ul.caps li.grown')].map(
        (li) => li.textContent ?? '',
      );
      expect(
        grown.some(
          (text) => text.includes('action drop_db') && text.includes('without a confirmation'),
        ),
      ).toBe(true);
      expect(target.querySelector('[data-testid=not-minimal]')?.textContent).toBe(
        en['submissions.notMinimal'],
      );
    } finally {
      detail.diff = saved;
    }
  });

  it('offers an operator the upload and the review but no Approve or Reject', async () => {
    session.role = 'operator';
    const target = await showPage();
    expect(target.querySelector('[data-testid=recipe-files]')).not.toBeNull();
    await review(target);
    expect(buttons(target)).not.toContain(en['submissions.approve']);
    expect(buttons(target)).not.toContain(en['submissions.reject']);
    expect(target.querySelector('[data-testid=approval-plan]')).toBeNull();
    expect(target.textContent).toContain(en['submissions.adminOnly']);
  });

  it('lets the submitter cancel their pending submission after a plain confirmation, then refreshes the list', async () => {
    session.role = 'operator';
    session.username = 'olga';
    try {
      const target = await showPage();
      await review(target);
      const find = (label: string) =>
        [...target.querySelectorAll('button')].find((b) => b.textContent?.trim() === label);
      const cancel = vi.spyOn(api, 'cancelSubmission');
      const listed = vi.spyOn(api, 'submissions');
      find(en['submissions.cancel'])?.click();
      flushSync();
      // Asked first, nothing sent yet; "Keep it" goes back.
      expect(target.querySelector('[data-testid=cancel-submission]')?.textContent).toContain(
        'Cancel go v3? It was never published',
      );
      expect(cancel).not.toHaveBeenCalled();
      find(en['submissions.cancelKeep'])?.click();
      flushSync();
      expect(find(en['submissions.cancelConfirm'])).toBeUndefined();
      find(en['submissions.cancel'])?.click();
      flushSync();
      find(en['submissions.cancelConfirm'])?.click();
      await vi.waitFor(() => {
        flushSync();
        expect(target.querySelector('p[role=status]')?.textContent).toBe(
          'Cancelled go v3: it was never published and no longer waits for review.',
        );
      });
      expect(cancel).toHaveBeenCalledWith(pending.id);
      expect(listed).toHaveBeenCalled();
      expect(target.querySelector('[data-testid=submission]')).toBeNull();
    } finally {
      session.username = null;
    }
  });

  it('offers no Cancel to another operator', async () => {
    session.role = 'operator';
    session.username = 'pete';
    try {
      const target = await showPage();
      await review(target);
      expect(buttons(target)).not.toContain(en['submissions.cancel']);
      expect(target.querySelector('[data-testid=cancel-submission]')).toBeNull();
    } finally {
      session.username = null;
    }
  });

  it('shows a viewer neither the submissions nor the upload', async () => {
    session.role = 'viewer';
    const target = await showPage();
    expect(target.textContent).not.toContain(en['submissions.title']);
    expect(target.querySelector('[data-testid=recipe-files]')).toBeNull();
    expect(target.querySelectorAll('article.recipe')).toHaveLength(1);
  });
});
