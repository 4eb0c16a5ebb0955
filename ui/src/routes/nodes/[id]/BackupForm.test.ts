import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackupStatus, Provider } from '$lib/backup';
import BackupForm from './BackupForm.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

function render(provider: Provider, current?: BackupStatus) {
  const onsubmit = vi.fn();
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(BackupForm, {
    target,
    props: { provider, title: 'Configure', current, onsubmit, onclose: () => {} },
  });
  flushSync();
  const input = (key: string) => target.querySelector(`#backup-${key}`) as HTMLInputElement;
  const type = (key: string, value: string) => {
    input(key).value = value;
    input(key).dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  const submit = () => {
    target
      .querySelector('form')!
      .dispatchEvent(new Event('submit', { cancelable: true, bubbles: true }));
    flushSync();
  };
  const errorOf = (key: string) => target.querySelector(`#backup-${key}-err`)?.textContent ?? '';
  return { target, input, type, submit, errorOf, onsubmit };
}

describe('BackupForm', () => {
  it('rsync: refuses a missing or malformed target and a bad schedule, next to the field', () => {
    const f = render('rsync');
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    expect(f.errorOf('target')).toBe('Required.');
    expect(document.activeElement).toBe(f.input('target'));
    f.type('target', 'root@host:relative');
    expect(f.errorOf('target')).toContain('user@host:/absolute/path');
    expect(f.input('target').getAttribute('aria-invalid')).toBe('true');
    f.type('target', 'backup@nas.lan:/srv/backups');
    expect(f.errorOf('target')).toBe('');
    // Custom schedule: the cron field appears and is checked.
    const select = f.target.querySelector('select') as HTMLSelectElement;
    select.value = 'custom';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    f.type('schedule', '@daily');
    f.submit();
    expect(f.errorOf('schedule')).toContain('Five fields');
    expect(f.onsubmit).not.toHaveBeenCalled();
    f.type('schedule', '30 2 * * 1-5');
    f.type('keep', '14');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({
      action: 'configure',
      target: 'backup@nas.lan:/srv/backups',
      port: '22',
      paths: '/etc\n/home\n/root\n',
      schedule: '30 2 * * 1-5',
      keep: '14',
      drill_schedule: '30 4 * * 0',
      drill_max_age_days: '8',
    });
  });

  it('s3: the secret key is a password field, required the first time, then forgotten', () => {
    const f = render('s3');
    expect(f.input('secret_access_key').type).toBe('password');
    f.type('bucket', 'my-backups');
    f.type('access_key_id', 'AKIAEXAMPLE');
    f.submit();
    expect(f.errorOf('secret_access_key')).toBe('Required.');
    f.type('secret_access_key', 'short');
    expect(f.errorOf('secret_access_key')).toContain('8 to 256');
    f.type('secret_access_key', 'wJalrXUtnFEMI/K7MDENG');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledTimes(1);
    expect(f.onsubmit.mock.calls[0][0].secret_access_key).toBe('wJalrXUtnFEMI/K7MDENG');
    // Sent: the form holds it no more.
    expect(f.input('secret_access_key').value).toBe('');
    expect(f.target.innerHTML).not.toContain('wJalrXUtnFEMI');
  });

  it('s3, configured already: empty keys keep the stored ones; the schedule is prefilled', () => {
    const f = render('s3', { provider: 's3', configured: true, schedule: '0 * * * *' });
    expect((f.target.querySelector('select') as HTMLSelectElement).value).toBe('hourly');
    f.type('bucket', 'my-backups');
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledTimes(1);
    const config = f.onsubmit.mock.calls[0][0];
    expect(config).not.toHaveProperty('secret_access_key');
    expect(config.schedule).toBe('0 * * * *');
  });
});
