import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, type Alert } from '$lib/api';
import { session } from '$lib/session.svelte';
import NodeAlerts from './NodeAlerts.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  session.role = null;
  vi.restoreAllMocks();
});

const disk = (muted: boolean): Alert => ({
  id: 7,
  rule: 'disk',
  nodeId: 'node-a',
  nodeName: 'web-1',
  subject: '/',
  state: 'firing',
  value: 93,
  threshold: 90,
  firedAt: 1_700_000_000,
  resolvedAt: null,
  notified: true,
  muted,
  deliveryError: null,
});

async function settle() {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}

async function show(role: 'viewer' | 'admin', alerts: Alert[][]) {
  session.role = role;
  const list = vi.spyOn(api, 'alerts');
  for (const a of alerts) list.mockResolvedValueOnce(a);
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(NodeAlerts, { target, props: { nodeId: 'node-a' } });
  await settle();
  return target;
}

describe('NodeAlerts', () => {
  it('lets an admin mute a firing alert of this server for the chosen time, then shows it muted', async () => {
    const mute = vi.spyOn(api, 'muteAlerts').mockResolvedValue(undefined as never);
    const target = await show('admin', [[disk(false)], [disk(true)]]);
    const select = target.querySelector<HTMLSelectElement>('[data-testid="node-mute-length"]')!;
    select.value = select.options[1].value;
    select.dispatchEvent(new Event('change'));
    target.querySelector<HTMLButtonElement>('li[data-rule="disk"] button')!.click();
    await settle();
    expect(mute).toHaveBeenCalledWith('disk', 'node-a', Number(select.options[1].value));
    expect(target.querySelector('[data-testid="muted"]')).not.toBeNull();
    expect(target.querySelector('li[data-rule="disk"] button')).toBeNull();
  });

  it('offers a viewer no Mute', async () => {
    const target = await show('viewer', [[disk(false)]]);
    expect(target.querySelector('li[data-rule="disk"]')).not.toBeNull();
    expect(target.querySelector('button')).toBeNull();
    expect(target.querySelector('[data-testid="node-mute-length"]')).toBeNull();
  });
});
