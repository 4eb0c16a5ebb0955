import { describe, expect, it } from 'vitest';
import type {
  ActionSpec,
  DashboardCommand,
  DashboardEvent,
  DashboardSocket,
  Recipe,
} from '$lib/api';
import type { ServiceInfo } from '$lib/protocol.generated';
import { NodeController } from './controller.svelte';
import { operationsFor, serviceControl } from './services';

const NODE = 'node-1';

/** The engine's built-in action, as the catalogue lists it for the redis recipe. */
const SERVICE: ActionSpec = {
  name: 'service',
  title: 'Control a service',
  params: [
    { name: 'service', type: 'choice', options: ['redis-server'] },
    {
      name: 'operation',
      type: 'choice',
      options: ['start', 'stop', 'restart', 'enable', 'disable'],
    },
  ],
};

const REDIS: Recipe = {
  id: 'redis',
  file: 'redis.rhai',
  category: 'database',
  params: [],
  actions: [SERVICE],
  capabilities: null,
  programs: [],
  paths: [],
  source: '',
  published: true,
};

function svc(over: Partial<ServiceInfo>): ServiceInfo {
  return { name: 'redis-server', state: 'running', recipes: ['redis'], ...over } as ServiceInfo;
}

describe('Services card controls', () => {
  it('offers Start when stopped, Stop and Restart when running, and the boot setting it can change', () => {
    expect(operationsFor(svc({ state: 'stopped', enabledAtBoot: true }))).toEqual([
      'start',
      'disable',
    ]);
    expect(operationsFor(svc({ state: 'running', enabledAtBoot: false }))).toEqual([
      'stop',
      'restart',
      'enable',
    ]);
    expect(operationsFor(svc({ state: 'running' }))).toEqual(['stop', 'restart']);
    expect(operationsFor(svc({ state: 'not_installed', enabledAtBoot: false }))).toEqual([]);
  });

  it('uses the first declaring recipe, and only when it is published and offers the service', () => {
    expect(serviceControl([REDIS], svc({}))?.recipe.id).toBe('redis');
    expect(serviceControl([REDIS], svc({ recipes: ['other', 'redis'] }))).toBeNull();
    expect(serviceControl([{ ...REDIS, published: false }], svc({}))).toBeNull();
    expect(serviceControl([REDIS], svc({ name: 'ssh' }))).toBeNull();
    expect(serviceControl([{ ...REDIS, actions: [] }], svc({}))).toBeNull();
  });

  it('previews the restart, runs it once confirmed, and asks for a fresh status when it ends', () => {
    const sent: DashboardCommand[] = [];
    const socket = {
      send: (m: DashboardCommand) => (sent.push(m), true),
    } as unknown as DashboardSocket;
    const c = new NodeController(NODE, socket);
    c.online = true;
    c.recipes = [REDIS];
    const msg = (type: string, payload: Record<string, unknown>, jobId?: string) =>
      c.handle({ type, nodeId: NODE, jobId, payload } as DashboardEvent);

    const control = serviceControl(c.recipes, svc({}))!;
    c.previewAction(control.recipe, control.action, {
      service: 'redis-server',
      operation: 'restart',
    });
    expect(sent.at(-1)).toEqual({
      type: 'PLAN_REQUEST',
      nodeId: NODE,
      payload: {
        type: 'redis',
        action: 'service',
        params: { service: 'redis-server', operation: 'restart' },
      },
    });
    msg('JOB_CREATED', { jobId: 'plan-1', recipe: 'redis' }, 'plan-1');
    msg('PLAN_RESULT', { jobId: 'plan-1', seq: 2, actions: [] }, 'plan-1');
    c.confirm();
    expect(sent.at(-1)?.type).toBe('RUN_ACTION');
    msg('JOB_CREATED', { jobId: 'job-1', recipe: 'redis' }, 'job-1');
    msg('JOB_STARTED', { jobId: 'job-1', seq: 1, recipeId: 'redis', recipeVersion: 3 }, 'job-1');
    expect(c.tasks.redis.status).toBe('running');
    const before = sent.length;
    msg('DATABASE_CONFIGURED', { jobId: 'job-1', seq: 2, type: 'redis', success: true }, 'job-1');
    expect(sent.slice(before)).toContainEqual({ type: 'GET_SERVER_STATUS', nodeId: NODE });
    expect(c.tasks.redis.status).toBe('succeeded');
  });
});
