/**
 * The Services card's controls: which operations a service's row offers, and which recipe's
 * built-in `service` action runs them (docs/recipes.md "Actions"). The engine gives that action
 * to every recipe declaring a service, with the declared services as its choices; the row uses
 * the first recipe of the service's `recipes` (who declares it), as published in the catalogue.
 */
import type { ActionSpec, Recipe } from '$lib/api';
import type { ServiceInfo } from '$lib/protocol.generated';

/** The name of the engine's built-in action. */
export const SERVICE_ACTION = 'service';

export type ServiceOperation = 'start' | 'stop' | 'restart' | 'enable' | 'disable';

/**
 * What a row offers, in order: Start when stopped; Stop and Restart when running; Enable or
 * Disable at boot when that is known. Nothing for a service that is not installed.
 */
export function operationsFor(s: ServiceInfo): ServiceOperation[] {
  if (s.state === 'not_installed') return [];
  const ops: ServiceOperation[] = s.state === 'running' ? ['stop', 'restart'] : ['start'];
  if (s.enabledAtBoot === true) ops.push('disable');
  else if (s.enabledAtBoot === false) ops.push('enable');
  return ops;
}

/**
 * The published recipe that controls `s` and its `service` action, or `null` when none can (the
 * declaring recipe is not published here, or its catalogue entry has no such action or does not
 * offer this service: a catalogue older than the agent's status).
 */
export function serviceControl(
  recipes: Recipe[],
  s: ServiceInfo,
): { recipe: Recipe; action: ActionSpec } | null {
  const recipe = recipes.find((r) => r.published && r.id === s.recipes[0]);
  const action = recipe?.actions?.find((a) => a.name === SERVICE_ACTION);
  const offered = action?.params.find((p) => p.name === 'service')?.options ?? [];
  return recipe && action && offered.includes(s.name) ? { recipe, action } : null;
}
