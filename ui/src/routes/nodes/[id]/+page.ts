import { error } from '@sveltejs/kit';
import { api } from '$lib/api';
import { t } from '$lib/i18n.svelte';
import { fromApi } from '$lib/load';
import type { PageLoad } from './$types';

/**
 * Server Settings: the node and the recipes, read before the page opens its live socket
 * (`NodeController`, which reads them again after a reconnection). A node that is not in the
 * list is the error page's "There is no such node".
 */
export const load = (({ params, url }) =>
  fromApi(url, async () => {
    const [nodes, recipes] = await Promise.all([api.nodes(), api.recipes()]);
    const node = nodes.find((n) => n.id === params.id);
    if (!node) error(404, { message: t('server.missing'), key: 'server.missing' });
    return { node, recipes };
  })) satisfies PageLoad;
