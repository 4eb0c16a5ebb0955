import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, type AlertRule } from '$lib/api';
import NodeAlertRules from './NodeAlertRules.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.restoreAllMocks();
});

const rule = (id: AlertRule['id'], threshold: number, hasThreshold = true): AlertRule => ({
  id,
  enabled: true,
  threshold,
  durationSecs: 0,
  hasThreshold,
});

async function settle() {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}

describe('NodeAlertRules', () => {
  it("shows this server's overrides and saves one rule's change for this server only", async () => {
    vi.spyOn(api, 'alertRules').mockResolvedValue({
      rules: [rule('offline', 120, false), rule('disk', 90)],
      overrides: [
        { rule: 'disk', nodeId: 'node-a', enabled: null, threshold: 95 },
        { rule: 'offline', nodeId: 'node-b', enabled: false, threshold: null },
      ],
      mutes: [],
    });
    const set = vi.spyOn(api, 'setAlertOverride').mockImplementation(async (r, n, o) => ({
      rule: r,
      nodeId: n,
      ...o,
    }));
    const target = document.createElement('div');
    document.body.appendChild(target);
    component = mount(NodeAlertRules, { target, props: { nodeId: 'node-a' } });
    await settle();
    const disk = target.querySelector<HTMLLIElement>('li[data-rule="disk"]')!;
    const offline = target.querySelector<HTMLLIElement>('li[data-rule="offline"]')!;
    // node-b's override is not this server's: offline applies as the rule says here.
    expect(offline.querySelector('select')!.value).toBe('rule');
    expect(offline.querySelector('input')).toBeNull();
    expect(disk.querySelector('input')!.value).toBe('95');

    const select = offline.querySelector('select')!;
    select.value = 'off';
    select.dispatchEvent(new Event('change'));
    offline.querySelector('button')!.click();
    await settle();
    expect(set).toHaveBeenCalledWith('offline', 'node-a', { enabled: false, threshold: null });
    expect(offline.textContent).toContain('Saved.');

    const input = disk.querySelector('input')!;
    input.value = '';
    input.dispatchEvent(new Event('input'));
    disk.querySelector('button')!.click();
    await settle();
    expect(set).toHaveBeenLastCalledWith('disk', 'node-a', { enabled: null, threshold: null });
  });
});
