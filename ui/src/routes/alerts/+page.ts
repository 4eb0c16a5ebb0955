import { api } from '$lib/api';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/** Alerts: those firing and past ones, the rules with their mutes, and the channels. */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const [alerts, rules, channels] = await Promise.all([
      api.alerts(),
      api.alertRules(),
      api.alertChannels(),
    ]);
    return { alerts, rules, channels };
  })) satisfies PageLoad;
