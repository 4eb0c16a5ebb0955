import { afterEach, describe, expect, it } from 'vitest';
import type { Recipe } from './api';
import { locale } from './i18n.svelte';
import { paramLabel, recipeDescription, recipeTitle, stepTitle } from './recipeText';

const rust = {
  id: 'rust',
  title: 'Rust',
  description: 'The Rust compiler and Cargo.',
  translations: {
    fr: {
      title: 'Rust',
      description: 'Le compilateur Rust et Cargo.',
      params: { source: 'Source' },
      steps: { 'Install Rust from the distribution': 'Installer Rust depuis la distribution' },
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
    expect(stepTitle(rust, 'Install Rust 1.83.0')).toBe('Install Rust 1.83.0');
    expect(recipeTitle({ id: 'x' } as Recipe)).toBe('x');
  });
});
