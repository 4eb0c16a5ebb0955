import { describe, expect, it } from 'vitest';
import { allTags, parseTags, tagFromUrl, urlWithTag, withTag } from './nodes';

const nodes = [
  { id: 'a', tags: ['web', 'prod'] },
  { id: 'b', tags: ['db'] },
  { id: 'c', tags: [] },
  { id: 'd', tags: ['web'] },
];

describe('the node list filtered by tag', () => {
  it('keeps only the nodes carrying the tag, and every node without one', () => {
    expect(withTag(nodes, 'web').map((n) => n.id)).toEqual(['a', 'd']);
    expect(withTag(nodes, 'db').map((n) => n.id)).toEqual(['b']);
    expect(withTag(nodes, 'nothing')).toEqual([]);
    expect(withTag(nodes, '')).toHaveLength(4);
  });

  it('offers every tag in use once, sorted', () => {
    expect(allTags(nodes)).toEqual(['db', 'prod', 'web']);
  });

  it('reads the filter from the address and writes it back, other parts kept', () => {
    expect(tagFromUrl(new URL('http://x/?tag=web'))).toBe('web');
    expect(tagFromUrl(new URL('http://x/'))).toBe('');
    // A value no tag could be is no filter (not an empty list).
    expect(tagFromUrl(new URL('http://x/?tag=%3Cscript%3E'))).toBe('');
    const url = urlWithTag(new URL('http://x/?lang=fr'), 'db');
    expect(url.search).toBe('?lang=fr&tag=db');
    expect(urlWithTag(url, '').search).toBe('?lang=fr');
  });
});

describe('a tag field', () => {
  it('reads spaces and commas as separators, lowercases and drops repeats', () => {
    expect(parseTags(' Web, prod  web\ndb ')).toEqual({ tags: ['web', 'prod', 'db'] });
    expect(parseTags('')).toEqual({ tags: [] });
  });

  it('refuses a tag the control plane would refuse, naming it', () => {
    const bad = parseTags('web -edge');
    expect('error' in bad && bad.error).toContain('-edge');
    expect('error' in parseTags('a'.repeat(33))).toBe(true);
    expect('error' in parseTags('é')).toBe(true);
    const many = Array.from({ length: 11 }, (_, i) => `t${i}`).join(' ');
    expect('error' in parseTags(many)).toBe(true);
  });
});
