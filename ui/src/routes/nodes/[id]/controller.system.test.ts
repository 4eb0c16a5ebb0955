import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, type DashboardCommand, type DashboardEvent, type DashboardSocket } from '$lib/api';
import type { ServerStatus } from '$lib/protocol.generated';
import { NodeController, SYSTEM_REFRESH_MS } from './controller.svelte';

const NODE = 'node-1';

function status(uptime: number, runtimes: ServerStatus['runtimes']): ServerStatus {
  const usage = { totalBytes: 100, usedBytes: 10, availableBytes: 80 };
  return {
    runtimes,
    databases: [],
    backups: [],
    system: {
      os: 'Debian',
      kernel: '6.1',
      arch: 'x86_64',
      hostname: 'web-1',
      cpu: { cores: 2, model: 'test' },
      ram: usage,
      disk: usage,
      uptime,
      addresses: [],
    },
  };
}

function setup() {
  const sent: DashboardCommand[] = [];
  const socket = {
    send: (m: DashboardCommand) => (sent.push(m), true),
    onMessage: () => () => {},
    onState: () => () => {},
    onReconnect: () => () => {},
    subscribe: () => {},
    start: () => {},
    stop: () => {},
  } as unknown as DashboardSocket;
  const c = new NodeController(NODE, socket);
  const msg = (payload: ServerStatus) =>
    c.handle({ type: 'SERVER_STATUS', nodeId: NODE, payload } as DashboardEvent);
  return { c, sent, msg };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('the machine figures of an open page', () => {
  it('are asked for alone, every half minute, while the node is online', () => {
    vi.useFakeTimers();
    vi.spyOn(api, 'jobs').mockResolvedValue([]);
    const { c, sent } = setup();
    const node = { id: NODE, name: 'web-1', online: true } as never;
    c.start({ node, recipes: [] });
    c.online = true;
    sent.length = 0;
    vi.advanceTimersByTime(SYSTEM_REFRESH_MS);
    expect(sent).toEqual([{ type: 'GET_SERVER_STATUS', nodeId: NODE, systemOnly: true }]);
    c.online = false;
    vi.advanceTimersByTime(SYSTEM_REFRESH_MS);
    expect(sent).toHaveLength(1);
    c.stop();
    c.online = true;
    vi.advanceTimersByTime(SYSTEM_REFRESH_MS * 3);
    expect(sent).toHaveLength(1);
  });

  it('update the figures and keep what the detectors found', () => {
    const { c, msg } = setup();
    const rust = { type: 'rust', installed: true, version: '1.83.0' };
    msg(status(10, [rust]));
    msg({ ...status(99, []), systemOnly: true });
    expect(c.status?.system.uptime).toBe(99);
    expect(c.status?.runtimes).toEqual([rust]);
    // A full status replaces everything.
    msg(status(120, []));
    expect(c.status?.runtimes).toEqual([]);
  });
});
