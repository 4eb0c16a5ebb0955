/**
 * The backup form on day 2 (issue 18): rsync's first setup in order (key, connection test,
 * then the first backup), Change filled from the server's `settings` without a secret, paths
 * one a line, and empty schedules refused rather than replaced.
 */
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Recipe } from '$lib/api';
import type { BackupStatus, Provider } from '$lib/backup';
import BackupForm from './BackupForm.svelte';
import type { Task } from './controller.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

const RSYNC = {
  id: 'rsync',
  category: 'backup',
  actions: [
    { name: 'make_key', title: 'Make key', params: [] },
    { name: 'test_connection', title: 'Test', params: [] },
    { name: 'remove', title: 'Remove', params: [], destructive: true, confirm: 'provider_name' },
  ],
} as unknown as Recipe;

function task(action: string, status: Task['status'], extra: Partial<Task> = {}): Task {
  return {
    purpose: 'action',
    jobId: 'job-1',
    status,
    percent: null,
    step: '',
    waiting: null,
    error: '',
    location: '',
    version: '',
    message: '',
    secret: '',
    action,
    publicKey: '',
    ...extra,
  };
}

function render(provider: Provider, current?: BackupStatus, recipe: Recipe = RSYNC) {
  const onsubmit = vi.fn();
  const onstep = vi.fn();
  const props = $state({
    provider,
    title: 'Configure',
    current,
    recipe,
    task: undefined as Task | undefined,
    onsubmit,
    onstep,
    onclose: () => {},
  });
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(BackupForm, { target, props });
  flushSync();
  const q = (sel: string) => target.querySelector(sel) as HTMLElement | null;
  const input = (key: string) =>
    target.querySelector(`#backup-${key}`) as HTMLInputElement | HTMLTextAreaElement;
  const type = (key: string, value: string) => {
    input(key).value = value;
    input(key).dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  const button = (text: string) =>
    [...target.querySelectorAll('button')].find((b) => b.textContent?.includes(text))!;
  const click = (text: string) => {
    button(text).click();
    flushSync();
  };
  const submit = () => {
    target
      .querySelector('form')!
      .dispatchEvent(new Event('submit', { cancelable: true, bubbles: true }));
    flushSync();
  };
  const setTask = (t: Task) => {
    props.task = t;
    flushSync();
  };
  return { target, q, input, type, button, click, submit, setTask, onsubmit, onstep };
}

describe('BackupForm, rsync first setup', () => {
  it('goes key, then a passed connection test, and only then saves and runs the first backup', () => {
    const f = render('rsync');
    const save = () => f.button('Save and run the first backup');
    expect(save().disabled).toBe(true);
    expect(f.q('[data-testid="test-first"]')).not.toBeNull();

    // 1. The key: asked for, then shown with a copy button.
    f.click('Make this server’s key');
    expect(f.onstep).toHaveBeenCalledWith('make_key', {});
    f.setTask(task('make_key', 'succeeded', { publicKey: 'ssh-ed25519 AAAAkey cairn-backup' }));
    expect(f.q('[data-testid="form-public-key"]')?.textContent).toBe(
      'ssh-ed25519 AAAAkey cairn-backup',
    );
    expect(f.button('Copy')).toBeTruthy();
    expect(save().disabled).toBe(true);

    // 2. The test needs a target first, then runs with the target and port.
    f.click('Test connection');
    expect(f.onstep).toHaveBeenCalledTimes(1);
    f.type('target', 'backup@nas.lan:/srv/backups');
    f.click('Test connection');
    expect(f.onstep).toHaveBeenLastCalledWith('test_connection', {
      target: 'backup@nas.lan:/srv/backups',
      port: 22,
    });
    f.setTask(task('test_connection', 'failed', { error: 'could not log in to nas.lan' }));
    expect(f.q('[data-testid="test-result"]')?.textContent).toContain('could not log in');
    expect(save().disabled).toBe(true);
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    f.setTask(task('test_connection', 'succeeded', { message: 'Connected to nas.lan' }));
    expect(f.q('[data-testid="test-result"]')?.textContent).toContain('Connected to nas.lan');

    // 3. Saved only now; a changed target asks for a new test first.
    expect(save().disabled).toBe(false);
    f.type('port', '2222');
    expect(save().disabled).toBe(true);
    expect(f.target.textContent).toContain('test again');
    f.type('port', '22');
    expect(save().disabled).toBe(false);
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledTimes(1);
    expect(f.onsubmit.mock.calls[0][0]).toMatchObject({
      action: 'configure',
      target: 'backup@nas.lan:/srv/backups',
    });
  });
});

describe('BackupForm, Change', () => {
  const current: BackupStatus = {
    provider: 'rsync',
    configured: true,
    schedule: '15 2 * * *',
    publicKey: 'ssh-ed25519 AAAAkey cairn-backup',
    settings: {
      paths: ['/srv/My Files', '/etc'],
      schedule: '15 2 * * *',
      keep: 3,
      drillSchedule: '* * * * *',
      drillMaxAgeDays: 2,
      target: 'backup@nas.lan:/srv/web-1',
      port: 2222,
    },
  };

  it('opens filled with the current configuration, paths one a line, and saves without a test', () => {
    const f = render('rsync', current);
    expect(f.input('target').value).toBe('backup@nas.lan:/srv/web-1');
    expect(f.input('port').value).toBe('2222');
    expect(f.input('paths').tagName).toBe('TEXTAREA');
    expect(f.input('paths').value).toBe('/srv/My Files\n/etc');
    expect(f.input('keep').value).toBe('3');
    expect(f.input('drill_max_age_days').value).toBe('2');
    // Custom schedules show their cron fields.
    expect((f.q('[data-testid="preset-schedule"]') as HTMLSelectElement).value).toBe('custom');
    expect(f.input('schedule').value).toBe('15 2 * * *');
    expect(f.input('drill_schedule').value).toBe('* * * * *');
    // No setup steps on Change: the key is in place.
    expect(f.q('[data-testid="step-key"]')).toBeNull();
    f.submit();
    expect(f.onsubmit).toHaveBeenCalledWith({
      action: 'configure',
      target: 'backup@nas.lan:/srv/web-1',
      port: '2222',
      paths: '/srv/My Files\n/etc\n',
      schedule: '15 2 * * *',
      keep: '3',
      drill_schedule: '* * * * *',
      drill_max_age_days: '2',
    });
  });

  it('refuses an empty schedule with a sentence instead of putting a default back', () => {
    const f = render('rsync', current);
    f.type('drill_schedule', '');
    f.type('schedule', '  ');
    f.submit();
    expect(f.onsubmit).not.toHaveBeenCalled();
    for (const key of ['schedule', 'drill_schedule']) {
      expect(f.q(`#backup-${key}-err`)?.textContent).toContain('never replaced by a default');
    }
    // Choosing "Custom" empties the field; it stays refused until written.
    const select = f.q('[data-testid="preset-drill_schedule"]') as HTMLSelectElement;
    select.value = 'weekly';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    expect(f.input('drill_schedule').value).toBe('30 4 * * 0');
  });

  it('s3: never shows a secret, and an empty secret keeps the stored one', () => {
    const f = render(
      's3',
      {
        provider: 's3',
        configured: true,
        settings: {
          paths: ['/etc'],
          bucket: 'b1k',
          accessKeyId: 'AKIA1',
          endpoint: 'http://127.0.0.1:9000',
          region: 'eu-west-1',
          drillSchedule: '30 4 * * 0',
        },
      },
      { id: 's3', category: 'backup', actions: [] } as unknown as Recipe,
    );
    expect(f.input('bucket').value).toBe('b1k');
    expect(f.input('access_key_id').value).toBe('AKIA1');
    expect(f.input('secret_access_key').value).toBe('');
    f.submit();
    expect(f.onsubmit.mock.calls[0][0]).not.toHaveProperty('secret_access_key');
  });
});
