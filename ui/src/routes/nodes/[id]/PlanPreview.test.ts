import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import PlanPreview from './PlanPreview.svelte';
import type { Plan } from './controller.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

beforeAll(() => {
  // jsdom has no modal dialogs.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false;
  };
});

const empty = {
  packages: [],
  services: [],
  users: [],
  databases: [],
  files: [],
  downloads: [],
  ports: [],
  notes: [],
};

function plan(over: Partial<Plan>): Plan {
  return {
    recipe: 'mysql',
    purpose: 'database',
    jobId: 'plan-1',
    status: 'ready',
    actions: [],
    summary: empty,
    error: '',
    ...over,
  };
}

function render(p: Plan) {
  const onconfirm = vi.fn();
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(PlanPreview, {
    target,
    props: { plan: p, title: 'MariaDB', onconfirm, onclose: () => {} },
  });
  flushSync();
  const confirm = target.querySelector('[data-testid=plan-confirm]') as HTMLButtonElement;
  return { target, confirm, onconfirm };
}

describe('PlanPreview', () => {
  it('keeps Confirm disabled while the server is asked', () => {
    const { confirm, target, onconfirm } = render(plan({ status: 'requesting', summary: null }));
    expect(confirm.disabled).toBe(true);
    confirm.click();
    expect(onconfirm).not.toHaveBeenCalled();
    expect(target.textContent).toContain('Asking the server');
  });

  it('keeps Confirm disabled when the preview failed, and says why', () => {
    const { confirm, target } = render(plan({ status: 'failed', summary: null, error: 'boom' }));
    expect(confirm.disabled).toBe(true);
    expect(target.textContent).toContain('The preview failed: boom');
  });

  it('says first in words what changes, with apt’s sizes, and hides the commands', () => {
    const { confirm, target } = render(
      plan({
        summary: {
          ...empty,
          packages: [
            {
              name: 'mariadb-server',
              version: '1:10.11.6',
              action: 'install',
              downloadBytes: 3 * 1024 * 1024,
              installedBytes: 20 * 1024 * 1024,
            },
          ],
          services: [{ name: 'mariadb', action: 'start' }],
          users: ['app'],
          databases: ['appdb'],
          ports: ['127.0.0.1:3306'],
        },
        actions: [
          {
            action: 'run',
            program: 'apt-get',
            args: ['-o', 'DPkg::Lock::Timeout=300', 'install', '--', 'mariadb-server'],
            stdin: false,
          },
        ],
      }),
    );
    expect(confirm.disabled).toBe(false);
    const packages = target.querySelector('[data-testid=plan-packages]')?.textContent ?? '';
    expect(packages).toContain('Install mariadb-server 1:10.11.6');
    expect(packages).toContain('3.0 MB download, 20 MB on disk');
    expect(target.querySelector('[data-testid=plan-totals]')?.textContent).toContain(
      '3.0 MB to download, 20 MB on disk once installed',
    );
    expect(target.textContent).toContain('Start mariadb');
    expect(target.textContent).toContain('Create the user app');
    expect(target.textContent).toContain('Create the database appdb');
    expect(target.textContent).toContain('Listen on 127.0.0.1:3306');
    const details = target.querySelector('details') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')?.textContent).toBe('Show commands (1)');
    expect(details.querySelector('[data-testid=plan-commands]')?.textContent).toContain(
      '$ apt-get -o DPkg::Lock::Timeout=300 install -- mariadb-server',
    );
  });

  it('says when nothing would change', () => {
    const { target, confirm } = render(plan({}));
    expect(target.textContent).toContain('Nothing would change');
    expect(confirm.disabled).toBe(false);
  });
});
