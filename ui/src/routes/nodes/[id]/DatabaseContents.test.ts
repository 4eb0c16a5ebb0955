import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseInfo } from '$lib/protocol.generated';
import DatabaseContents from './DatabaseContents.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

function render(info: DatabaseInfo): HTMLElement {
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(DatabaseContents, { target, props: { info } });
  flushSync();
  return target;
}

describe('DatabaseContents', () => {
  it('lists PostgreSQL databases with owner and size, and roles with what they own and reach', () => {
    const el = render({
      type: 'postgresql',
      installed: true,
      running: true,
      databases: [{ name: 'shop', owner: 'shop_app', sizeBytes: 7545347 }],
      users: [
        { name: 'postgres', login: true, superuser: true, owns: ['postgres'] },
        { name: 'shop_app', login: true, superuser: false, owns: ['shop'], databases: ['shop'] },
        { name: 'reporting', login: false, superuser: false },
      ],
    });
    const text = el.textContent ?? '';
    expect(text).toContain('1 database(s), 3 user(s)');
    expect(text).toContain('shop');
    expect(text).toContain('owner shop_app');
    expect(text).toContain('7.2 MB');
    expect(text).toContain('superuser');
    expect(text).toContain('owns shop · may connect to shop');
    expect(text).toContain('cannot log in');
  });

  it('shows MariaDB accounts as user@host with their grants', () => {
    const el = render({
      type: 'mysql',
      installed: true,
      running: true,
      databases: [{ name: 'shop', sizeBytes: 16384 }],
      users: [{ name: 'shop_app', host: '127.0.0.1', superuser: false, databases: ['shop'] }],
    });
    expect(el.textContent).toContain('shop_app@127.0.0.1');
    expect(el.textContent).toContain('grants on shop');
  });

  it('shows Redis ACL users, on or off, with their rules, and nothing without a list', () => {
    const el = render({
      type: 'redis',
      installed: true,
      running: true,
      users: [
        { name: 'app', login: true, access: '~app:* -@dangerous' },
        { name: 'default', login: false, access: 'resetchannels -@all' },
      ],
    });
    const text = el.textContent ?? '';
    expect(text).toContain('2 user(s)');
    expect(text).toContain('rules: ~app:* -@dangerous');
    expect(text).toContain('default off');
    unmount(component!);
    component = null;
    document.body.innerHTML = '';
    const empty = render({ type: 'redis', installed: true, running: true });
    expect(empty.querySelector('[data-testid=db-contents]')).toBeNull();
  });
});
