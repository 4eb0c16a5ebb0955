import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Recipe } from '$lib/api';
import PlanPreview from './PlanPreview.svelte';
import type { Plan } from './controller.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

beforeAll(() => {
  // jsdom has no modal dialogs.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false;
  };
});

const SHELF = {
  id: 'shelf',
  actions: [
    {
      name: 'remove_box',
      title: 'Remove a box',
      params: [{ name: 'box_name', type: 'identifier', label: 'Box' }],
      destructive: true,
      confirm: 'box_name',
    },
  ],
} as unknown as Recipe;

const PLAN: Plan = {
  recipe: 'shelf',
  purpose: 'action',
  jobId: 'plan-1',
  status: 'ready',
  actions: [{ action: 'run', program: 'rm', args: ['-f', '/srv/shelf/toys'], stdin: false }],
  summary: {
    packages: [],
    services: [],
    users: [],
    databases: [],
    files: [],
    downloads: [],
    ports: [],
    notes: [],
  },
  error: '',
  action: { name: 'remove_box', destructive: true, confirmParam: 'box_name', expected: 'toys' },
};

describe('PlanPreview of a destructive action', () => {
  it('names what goes and runs only once the value is typed again exactly', () => {
    const onconfirm = vi.fn();
    const target = document.createElement('div');
    document.body.appendChild(target);
    component = mount(PlanPreview, {
      target,
      props: { plan: PLAN, title: 'Shelf', recipe: SHELF, onconfirm, onclose: () => {} },
    });
    flushSync();
    const commands = target.querySelector('[data-testid=plan-commands]');
    expect(commands?.closest('details')?.open).toBe(true);
    expect(commands?.textContent).toContain('$ rm -f /srv/shelf/toys');
    expect(target.querySelector('[data-testid=plan-destructive]')?.textContent).toContain(
      'Type Box again to confirm: toys',
    );
    const confirm = target.querySelector('[data-testid=plan-confirm]') as HTMLButtonElement;
    const input = target.querySelector('[data-testid=plan-confirm-input]') as HTMLInputElement;
    expect(confirm.disabled).toBe(true);
    for (const wrong of ['toy', 'toys ', 'Toys']) {
      input.value = wrong;
      input.dispatchEvent(new Event('input'));
      flushSync();
      expect(confirm.disabled, wrong).toBe(true);
    }
    input.value = 'toys';
    input.dispatchEvent(new Event('input'));
    flushSync();
    expect(confirm.disabled).toBe(false);
    confirm.click();
    expect(onconfirm).toHaveBeenCalledWith('toys');
  });
});
