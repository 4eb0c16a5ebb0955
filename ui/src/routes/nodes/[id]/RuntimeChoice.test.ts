import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Recipe } from '$lib/api';
import { locale } from '$lib/i18n.svelte';
import RuntimeChoice from './RuntimeChoice.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  locale.lang = 'en';
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

const GO = {
  id: 'go',
  title: 'Go',
  params: [
    {
      name: 'version',
      type: 'choice',
      label: 'Version',
      options: ['distribution', 'backports', '1.26.1'],
      default_value: 'distribution',
      option_notes: {
        distribution: "Debian's golang-go package",
        backports: "Debian's backports",
      },
    },
  ],
  translations: {
    fr: {
      title: 'Go',
      params: { version: 'Version' },
      option_notes: { version: { distribution: 'Le paquet golang-go de Debian' } },
    },
  },
} as unknown as Recipe;

function render(onpreview = vi.fn()) {
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(RuntimeChoice, {
    target,
    props: { recipe: GO, title: 'Change version', onpreview, onclose: vi.fn() },
  });
  flushSync();
  return { el: target, onpreview };
}

describe('RuntimeChoice', () => {
  it('offers each option with where it comes from, and the default chosen', () => {
    const { el } = render();
    const options = [...el.querySelectorAll('label.option')].map((l) => l.textContent ?? '');
    expect(options).toHaveLength(3);
    expect(options[0]).toContain("Debian's golang-go package");
    expect(options[1]).toContain("Debian's backports");
    // An option the recipe says nothing about gets no note, not an invented one.
    expect(options[2].trim()).toBe('1.26.1');
    const checked = el.querySelector<HTMLInputElement>('input[type=radio]:checked');
    expect(checked?.value).toBe('distribution');
  });

  it('sends the chosen option to the preview', () => {
    const { el, onpreview } = render();
    el.querySelector<HTMLInputElement>('input[value=backports]')?.click();
    flushSync();
    el.querySelector<HTMLButtonElement>('[data-testid=runtime-preview]')?.click();
    flushSync();
    expect(onpreview).toHaveBeenCalledWith({ version: 'backports' });
  });

  it('says where an option comes from in French when the recipe does', () => {
    locale.lang = 'fr';
    const { el } = render();
    const text = el.textContent ?? '';
    expect(text).toContain('Le paquet golang-go de Debian');
    // Not translated by the recipe: its English note, not nothing.
    expect(text).toContain("Debian's backports");
  });
});
