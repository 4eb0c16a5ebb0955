/**
 * A recipe's words in the page's language: its own translations (`RECIPE.translations`, which
 * the engine checks whole), else what the recipe wrote. Read in templates, so they follow the
 * language switch. Step titles and messages are keyed by the English literal the recipe's source
 * writes; a template's `${…}` parts are filled with what the recipe printed there.
 */
import type { ActionSpec, ParamSpec, PathPower, ProgramPower, Recipe } from './api';
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

/** What a declared program or path lets the recipe do, in the engine's words for the page. */
export function powerText(p: ProgramPower | PathPower): string {
  return p.translations?.[locale.lang] || p.power;
}

/** The label of parameter `name`, else `fallback` (the recipe's own label or a generic one). */
export function paramLabel(recipe: Recipe | undefined, name: string, fallback: string): string {
  return own(recipe)?.params?.[name] || fallback;
}

/** Where option `option` of parameter `param` comes from, in the page's language ('' if unsaid). */
export function optionNote(recipe: Recipe | undefined, param: ParamSpec, option: string): string {
  return own(recipe)?.option_notes?.[param.name]?.[option] || param.option_notes?.[option] || '';
}

/** An action's title, description and parameter labels in the page's language. */
export function actionText(recipe: Recipe | undefined, action: ActionSpec) {
  const words = own(recipe)?.actions?.[action.name];
  return {
    title: words?.title || action.title,
    description: words?.description || action.description || '',
    label: (name: string) =>
      words?.params?.[name] || action.params.find((p) => p.name === name)?.label || name,
  };
}

/** A step's title as the recipe wrote it, in the page's language when the recipe says how. */
export function stepTitle(recipe: Recipe | undefined, title: string): string {
  return translated(own(recipe)?.steps, title);
}

/**
 * A console line (`log`, `warn`) or a result message the recipe wrote, in the page's language
 * when the recipe says how.
 */
export function recipeMessage(recipe: Recipe | undefined, text: string): string {
  return translated(own(recipe)?.messages, text);
}

type Template = { re: RegExp; names: string[] };
const templates = new Map<string, Template | null>();

/**
 * A template key (`Created the user ${user}`) as a pattern: its `${…}` parts match anything,
 * and their text is remembered to fill the translation's parts of the same name.
 */
function template(key: string): Template | null {
  let found = templates.get(key);
  if (found !== undefined) return found;
  const names: string[] = [];
  const parts = key.split(/(\$\{[^}]*\})/);
  // A key with no words of its own (`${e}`) would match every line: it translates nothing.
  if (parts.length === 1 || !parts.some((p, i) => i % 2 === 0 && p.trim())) found = null;
  else {
    const source = parts
      .map((p, i) => {
        if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(p);
        return '([\\s\\S]*?)';
      })
      .join('');
    found = { re: new RegExp(`^${source}$`), names };
  }
  templates.set(key, found);
  return found;
}

/** `text` through `map`: a literal key as is, else the first template it fills. */
export function translated(map: Record<string, string> | undefined, text: string): string {
  if (!map) return text;
  const exact = map[text];
  if (exact) return exact;
  for (const [key, french] of Object.entries(map)) {
    const tpl = template(key);
    const m = tpl?.re.exec(text);
    if (!tpl || !m || !french) continue;
    const values = new Map(tpl.names.map((n, i) => [n, m[i + 1]]));
    return french.replace(/\$\{[^}]*\}/g, (part) => values.get(part) ?? part);
  }
  return text;
}
