import { describe, expect, it } from 'vitest';
import type {
  ActionSpec,
  DashboardCommand,
  DashboardEvent,
  DashboardSocket,
  Recipe,
} from '$lib/api';
import { PLAN_PLACEHOLDER } from '$lib/backup';
import { NodeController } from './controller.svelte';

const NODE = 'node-1';

const ADD: ActionSpec = {
  name: 'add_box',
  title: 'Add a box',
  params: [
    { name: 'box_name', type: 'identifier' },
    { name: 'lock_code', type: 'string', secret: true, default_value: '' },
  ],
};
const REMOVE: ActionSpec = {
  name: 'remove_box',
  title: 'Remove a box',
  params: [{ name: 'box_name', type: 'identifier' }],
  destructive: true,
  confirm: 'box_name',
};

const SHELF: Recipe = {
  id: 'shelf',
  file: 'shelf.rhai',
  category: 'runtime',
  params: [],
  actions: [ADD, REMOVE],
  capabilities: null,
  programs: [],
  paths: [],
  source: '',
  published: true,
};

function setup() {
  const sent: DashboardCommand[] = [];
  const socket = {
    send: (m: DashboardCommand) => (sent.push(m), true),
  } as unknown as DashboardSocket;
  const c = new NodeController(NODE, socket);
  c.online = true;
  c.recipes = [SHELF];
  const msg = (type: string, payload: Record<string, unknown>, jobId?: string) =>
    c.handle({ type, nodeId: NODE, jobId, payload } as DashboardEvent);
  return { c, sent, msg };
}

/** The preview `plan-1` arrives. */
function planArrives(msg: ReturnType<typeof setup>['msg']) {
  msg('JOB_CREATED', { jobId: 'plan-1', recipe: 'shelf' }, 'plan-1');
  msg('PLAN_RESULT', { jobId: 'plan-1', seq: 2, actions: [] }, 'plan-1');
}

describe('NodeController actions', () => {
  it('previews an action with only its own parameters, a secret as a placeholder, then runs it with the secret once', () => {
    const { c, sent, msg } = setup();
    c.previewAction(SHELF, ADD, { box_name: 'toys', lock_code: 'opensesame', other: 'x' });
    expect(sent.at(-1)).toEqual({
      type: 'PLAN_REQUEST',
      nodeId: NODE,
      payload: {
        type: 'shelf',
        action: 'add_box',
        params: { box_name: 'toys', lock_code: PLAN_PLACEHOLDER },
      },
    });
    planArrives(msg);
    c.confirm();
    expect(sent.at(-1)).toEqual({
      type: 'RUN_ACTION',
      nodeId: NODE,
      payload: {
        type: 'shelf',
        action: 'add_box',
        params: { box_name: 'toys', lock_code: 'opensesame' },
        planId: 'plan-1',
      },
    });
    expect(c.tasks.shelf.purpose).toBe('action');
  });

  it('sends a destructive action with the confirmation as typed, and knows what must be typed', () => {
    const { c, sent, msg } = setup();
    c.previewAction(SHELF, REMOVE, { box_name: 'toys' });
    expect(c.plan?.action).toEqual({
      name: 'remove_box',
      destructive: true,
      confirmParam: 'box_name',
      expected: 'toys',
    });
    planArrives(msg);
    c.confirm('toys');
    expect(sent.at(-1)).toEqual({
      type: 'RUN_ACTION',
      nodeId: NODE,
      payload: {
        type: 'shelf',
        action: 'remove_box',
        params: { box_name: 'toys' },
        confirm: 'toys',
        planId: 'plan-1',
      },
    });
  });

  it('puts a refusal of the control plane on the card, as a sentence', () => {
    const { c, msg } = setup();
    c.previewAction(SHELF, REMOVE, { box_name: 'toys' });
    planArrives(msg);
    c.confirm('books');
    msg('ERROR', {
      message: 'x',
      messageCode: 'action.unconfirmed',
      messageArgs: { action: 'Remove a box', param: 'Box' },
    });
    expect(c.tasks.shelf.status).toBe('failed');
    expect(c.tasks.shelf.error).toContain('Remove a box');
    expect(c.tasks.shelf.error).toContain('nothing was run');
  });

  it('ends an action job in the console with the action done, never "installed", and leaves the card as detected', () => {
    const { c, msg } = setup();
    c.previewAction(SHELF, ADD, { box_name: 'toys' });
    planArrives(msg);
    c.confirm();
    msg('JOB_CREATED', { jobId: 'job-1', recipe: 'shelf' }, 'job-1');
    msg('JOB_STARTED', { jobId: 'job-1', seq: 1, recipeId: 'shelf', recipeVersion: 1 }, 'job-1');
    msg('RUNTIME_INSTALLED', { jobId: 'job-1', seq: 2, type: 'shelf', success: true }, 'job-1');
    c.flushLines();
    const text = c.lines.map((l) => l.segments.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('Cairn: shelf: action add_box done.');
    expect(text).not.toContain('installed');
    expect(c.tasks.shelf.status).toBe('succeeded');
    expect(c.tasks.shelf.purpose).toBe('action');
  });
});
