/**
 * A recipe's words in the page's language: its own translations (`RECIPE.translations`, which
 * the engine checks whole), else what the recipe wrote. Read in templates, so they follow the
 * language switch.
 */
import type { Recipe } from './api';
import { locale } from './i18n.svelte';

function own(recipe: Recipe | undefined) {
  return recipe?.translations?.[locale.lang];
}

export function recipeTitle(recipe: Recipe): string {
  return own(recipe)?.title || recipe.title || recipe.id;
}

export function recipeDescription(recipe: Recipe): string {
  return own(recipe)?.description || recipe.description || '';
}

/** The label of parameter `name`, else `fallback` (the recipe's own label or a generic one). */
export function paramLabel(recipe: Recipe | undefined, name: string, fallback: string): string {
  return own(recipe)?.params?.[name] || fallback;
}

/** A step's title as the recipe wrote it, in the page's language when the recipe says how. */
export function stepTitle(recipe: Recipe | undefined, title: string): string {
  return own(recipe)?.steps?.[title] || title;
}
