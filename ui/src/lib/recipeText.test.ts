import { afterEach, describe, expect, it } from 'vitest';
import type { Recipe } from './api';
import { locale } from './i18n.svelte';
import { paramLabel, recipeDescription, recipeMessage, recipeTitle, stepTitle } from './recipeText';

const rust = {
  id: 'rust',
  title: 'Rust',
  description: 'The Rust compiler and Cargo.',
  translations: {
    fr: {
      title: 'Rust',
      description: 'Le compilateur Rust et Cargo.',
      params: { source: 'Source' },
      steps: {
        'Install Rust from the distribution': 'Installer Rust depuis la distribution',
        'Install Rust ${want}': 'Installer Rust ${want}',
      },
      messages: {
        'Created the database ${db} for ${user}': 'Base ${db} créée pour ${user}',
        'Rust is already running': 'Rust tourne déjà',
        '${e}': 'nothing',
      },
    },
  },
} as unknown as Recipe;

afterEach(() => {
  locale.lang = 'en';
});

describe('a recipe in the page language', () => {
  it('uses its own French words on a French page', () => {
    locale.lang = 'fr';
    expect(recipeDescription(rust)).toBe('Le compilateur Rust et Cargo.');
    expect(stepTitle(rust, 'Install Rust from the distribution')).toBe(
      'Installer Rust depuis la distribution',
    );
    expect(paramLabel(rust, 'source', 'Source (en)')).toBe('Source');
  });
  it('keeps what the recipe wrote in English, and for what it does not translate', () => {
    expect(recipeDescription(rust)).toBe('The Rust compiler and Cargo.');
    locale.lang = 'fr';
    expect(stepTitle(rust, 'Set up Rust 1.83.0')).toBe('Set up Rust 1.83.0');
    expect(recipeTitle({ id: 'x' } as Recipe)).toBe('x');
  });
  it('fills a template translation with what the recipe printed in its parts', () => {
    locale.lang = 'fr';
    expect(recipeMessage(rust, 'Created the database app (1.2) for ann')).toBe(
      'Base app (1.2) créée pour ann',
    );
    expect(recipeMessage(rust, 'Rust is already running')).toBe('Rust tourne déjà');
    expect(stepTitle(rust, 'Install Rust 1.83.0')).toBe('Installer Rust 1.83.0');
  });
  it('leaves a line no key matches as it is, even with a key made of a part only', () => {
    locale.lang = 'fr';
    expect(recipeMessage(rust, 'Created the user ann')).toBe('Created the user ann');
    expect(recipeMessage(undefined, 'Hello')).toBe('Hello');
  });
});
