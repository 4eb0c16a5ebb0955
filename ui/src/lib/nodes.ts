/**
 * The node list's tags: every tag in use, the nodes carrying one (the list's filter, kept in
 * the address as `?tag=web`), and a tag field's text read as tags with the control plane's
 * rule (`[a-z0-9][a-z0-9-]{0,31}`, at most 10; docs/api.md `PATCH /api/nodes/{id}`).
 */

import type { Node } from './api';
import { t } from './i18n.svelte';

export const MAX_TAGS = 10;
const TAG = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Every tag some node carries, sorted. */
export function allTags(nodes: Pick<Node, 'tags'>[]): string[] {
  return [...new Set(nodes.flatMap((n) => n.tags ?? []))].sort();
}

/** The nodes carrying `tag`; all of them when `tag` is empty. */
export function withTag<N extends Pick<Node, 'tags'>>(nodes: N[], tag: string): N[] {
  return tag ? nodes.filter((n) => (n.tags ?? []).includes(tag)) : nodes;
}

/** The tag the address asks for (`?tag=web`), or '' for none (or one no tag could be). */
export function tagFromUrl(url: URL): string {
  const tag = url.searchParams.get('tag') ?? '';
  return TAG.test(tag) ? tag : '';
}

/** The address showing the list filtered by `tag` ('' removes the filter), other parts kept. */
export function urlWithTag(url: URL, tag: string): URL {
  const next = new URL(url);
  if (tag) next.searchParams.set('tag', tag);
  else next.searchParams.delete('tag');
  return next;
}

/**
 * A tag field's text (separated by spaces or commas) as tags, lowercased and without repeats,
 * or the sentence saying what is wrong.
 */
export function parseTags(text: string): { tags: string[] } | { error: string } {
  const tags = [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  const bad = tags.find((tag) => !TAG.test(tag));
  if (bad) return { error: t('node.tagInvalid', { tag: bad }) };
  if (tags.length > MAX_TAGS) return { error: t('node.tagsTooMany', { max: MAX_TAGS }) };
  return { tags };
}
