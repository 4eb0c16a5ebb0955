import { api } from '$lib/api';
import { fromApi, unlessRefused } from '$lib/load';
import type { PageLoad } from './$types';

/** Alerts: those firing and past ones, the rules with their mutes, and the channels. */
export const load = (({ url }) =>
  fromApi(url, async () => {
    const [alerts, rules, channels] = await Promise.all([
      api.alerts(),
      // Rules and channels are an admin's: a viewer or operator sees the alerts alone.
      unlessRefused(api.alertRules()),
      unlessRefused(api.alertChannels()),
    ]);
    return { alerts, rules, channels };
  })) satisfies PageLoad;
