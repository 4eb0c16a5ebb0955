import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import DatabaseForm from './DatabaseForm.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

function render(keyPrefix = false) {
  const onsubmit = vi.fn();
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(DatabaseForm, {
    target,
    props: { title: 'Set up PostgreSQL', keyPrefix, onsubmit, onclose: () => {} },
  });
  flushSync();
  const db = target.querySelector('input[name=dbName]') as HTMLInputElement;
  const user = target.querySelector('input[name=user]') as HTMLInputElement;
  const prefix = target.querySelector('input[name=prefix]') as HTMLInputElement;
  const form = target.querySelector('form') as HTMLFormElement;
  const type = (input: HTMLInputElement, value: string) => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  const submit = () => {
    form.dispatchEvent(new Event('submit', { cancelable: true, bubbles: true }));
    flushSync();
  };
  return { target, db, user, prefix, type, submit, onsubmit };
}

describe('DatabaseForm', () => {
  it('refuses an empty form and says what is required', () => {
    const f = render();
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    expect(f.target.querySelector('#db-name-msg')?.textContent).toContain('Required');
    expect(f.db.getAttribute('aria-invalid')).toBe('true');
  });

  it('refuses names the server would refuse', () => {
    const f = render();
    for (const [value, says] of [
      ['MyApp', '1 to 63 characters'],
      ['9lives', '1 to 63 characters'],
      ['a'.repeat(64), '1 to 63 characters'],
      ['select', 'reserved word'],
      ['pg_app', 'pg_'],
    ]) {
      f.type(f.db, value);
      expect(f.target.querySelector('#db-name-msg')?.textContent).toContain(says);
      f.submit();
    }
    expect(f.onsubmit).not.toHaveBeenCalled();
  });

  it('proposes a user name from the database name and sends both when valid', () => {
    const f = render();
    f.type(f.db, 'myapp');
    expect(f.user.value).toBe('myapp_user');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({ dbName: 'myapp', user: 'myapp_user' });
  });

  it('checks a user name typed by hand', () => {
    const f = render();
    f.type(f.db, 'shop');
    f.type(f.user, 'user');
    expect(f.target.querySelector('#db-user-msg')?.textContent).toContain('reserved word');
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    f.type(f.user, 'shop_rw');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({ dbName: 'shop', user: 'shop_rw' });
  });

  it('asks Redis for a user and a key prefix, not a database name the recipe would ignore', () => {
    const f = render(true);
    expect(f.db).toBeNull();
    expect(f.target.textContent).not.toContain('Database name');
    expect(f.user.value).toBe('app');
    expect(f.prefix.value).toBe('app:');
    expect(f.target.querySelector('#db-prefix-help')?.textContent).toContain('app:*');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({ user: 'app', prefix: 'app:' });
  });

  it('makes the key prefix follow the Redis user until it is typed, and checks both', () => {
    const f = render(true);
    f.type(f.user, 'cache');
    expect(f.prefix.value).toBe('cache:');
    f.type(f.user, 'default');
    expect(f.target.querySelector('#db-user-msg')?.textContent).toContain('Redis');
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    f.type(f.user, 'cache');
    for (const bad of ['', 'all*', 'a b', 'x?', '[a]', 'a'.repeat(65)]) {
      f.type(f.prefix, bad);
      expect(f.prefix.getAttribute('aria-invalid')).toBe('true');
      f.submit();
    }
    expect(f.onsubmit).not.toHaveBeenCalled();
    f.type(f.prefix, 'sessions.v1:');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({ user: 'cache', prefix: 'sessions.v1:' });
  });
});
