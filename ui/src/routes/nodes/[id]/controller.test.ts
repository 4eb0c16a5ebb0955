import { describe, expect, it, vi } from 'vitest';
import {
  api,
  type DashboardCommand,
  type Job,
  type DashboardEvent,
  type DashboardSocket,
  type JobEvent,
  type Node,
  type ReconnectReason,
  type Recipe,
} from '$lib/api';
import { t } from '$lib/i18n.svelte';
import { CARD_LINES, lastRows, NodeController } from './controller.svelte';

const NODE = 'node-1';

function recipe(id: string, category: Recipe['category'], params: Recipe['params'] = []): Recipe {
  return {
    id,
    file: `${id}.rhai`,
    category,
    params,
    capabilities: null,
    programs: [],
    paths: [],
    source: '',
    published: true,
  };
}

function setup() {
  const sent: DashboardCommand[] = [];
  const socket = {
    send: (m: DashboardCommand) => (sent.push(m), true),
  } as unknown as DashboardSocket;
  const c = new NodeController(NODE, socket);
  c.online = true;
  c.recipes = [
    recipe('python', 'runtime'),
    recipe('go', 'runtime'),
    recipe('postgresql', 'database', [
      { name: 'db_name', type: 'identifier' },
      { name: 'user', type: 'identifier' },
    ]),
    recipe('redis', 'database'),
  ];
  const msg = (type: string, payload: Record<string, unknown>, jobId?: string) =>
    c.handle({ type, nodeId: NODE, jobId, payload } as DashboardEvent);
  const lastPayload = () => {
    const m = sent.at(-1);
    return m && 'payload' in m ? m.payload : undefined;
  };
  return { c, sent, msg, lastPayload };
}

describe('NodeController', () => {
  it('previews a plan, then sends the install once confirmed', () => {
    const { c, sent, msg } = setup();
    c.preview(c.recipes[0], 'runtime', { type: 'python' }, {});
    expect(sent.at(-1)).toEqual({
      type: 'PLAN_REQUEST',
      nodeId: NODE,
      payload: { type: 'python', params: {} },
    });
    msg('JOB_CREATED', { jobId: 'job-p', recipe: 'python' }, 'job-p');
    expect(c.plan?.jobId).toBe('job-p');
    const actions = [
      { action: 'run', program: 'apt-get', args: ['install', '-y', 'python3'], stdin: false },
    ];
    msg('PLAN_RESULT', { jobId: 'job-p', seq: 3, actions }, 'job-p');
    expect(c.plan?.status).toBe('ready');
    expect(c.plan?.actions).toEqual(actions);
    c.confirm();
    expect(c.plan).toBeNull();
    expect(sent.at(-1)).toEqual({
      type: 'INSTALL_RUNTIME',
      nodeId: NODE,
      payload: { type: 'python', planId: 'job-p' },
    });
    expect(c.tasks.python.status).toBe('requesting');
  });

  it('runs a runtime with the version it was previewed with', () => {
    const { c, sent, msg } = setup();
    const go = recipe('go', 'runtime', [{ name: 'version', type: 'choice' }]);
    c.preview(go, 'runtime', { type: 'go' }, { version: 'backports', other: 'x' });
    expect(sent.at(-1)).toEqual({
      type: 'PLAN_REQUEST',
      nodeId: NODE,
      payload: { type: 'go', params: { version: 'backports' } },
    });
    msg('JOB_CREATED', { jobId: 'job-g', recipe: 'go' }, 'job-g');
    msg('PLAN_RESULT', { jobId: 'job-g', seq: 1, actions: [] }, 'job-g');
    c.confirm();
    expect(sent.at(-1)).toEqual({
      type: 'INSTALL_RUNTIME',
      nodeId: NODE,
      payload: { type: 'go', params: { version: 'backports' }, planId: 'job-g' },
    });
  });

  it('sends nothing on confirm before the plan has arrived, nor after it failed', () => {
    const { c, sent, msg } = setup();
    c.preview(c.recipes[0], 'runtime', { type: 'python' }, {});
    const before = sent.length;
    c.confirm();
    msg('JOB_CREATED', { jobId: 'plan-1', recipe: 'python' }, 'plan-1');
    c.confirm();
    expect(sent.length).toBe(before);
    expect(c.plan?.status).toBe('requesting');
    msg('JOB_FAILED', { jobId: 'plan-1', seq: 2, kind: 'error', message: 'no' }, 'plan-1');
    c.confirm();
    expect(sent.length).toBe(before);
    expect(c.plan).toMatchObject({ status: 'failed', error: 'no' });
  });

  it('keeps every event of a preview out of the console and its job filter', () => {
    const { c, msg } = setup();
    c.preview(c.recipes[0], 'runtime', { type: 'python' }, {});
    msg('JOB_CREATED', { jobId: 'plan-2', recipe: 'python' }, 'plan-2');
    msg('JOB_STARTED', { jobId: 'plan-2', seq: 1, recipeId: 'python', recipeVersion: 1 }, 'plan-2');
    msg(
      'INFRASTRUCTURE_LOG',
      { jobId: 'plan-2', seq: 2, stream: 'info', message: 'Created the user app' },
      'plan-2',
    );
    const summary = {
      packages: [],
      services: [],
      users: ['app'],
      databases: [],
      files: [],
      downloads: [],
      ports: [],
      notes: [],
    };
    msg('PLAN_RESULT', { jobId: 'plan-2', seq: 3, actions: [], summary }, 'plan-2');
    c.flushLines();
    expect(c.lines).toEqual([]);
    expect(c.jobLabels).toEqual({});
    expect(c.plan?.summary?.users).toEqual(['app']);
  });

  it('sends a plan only the parameters the recipe declares', () => {
    const { c, lastPayload } = setup();
    const redis = c.recipes[3];
    c.preview(
      redis,
      'database',
      { type: 'redis', dbName: 'cache', user: 'cache_user' },
      { db_name: 'cache', user: 'cache_user' },
    );
    expect(lastPayload()).toEqual({ type: 'redis', params: {} });
    const pg = c.recipes[2];
    c.preview(
      pg,
      'database',
      { type: 'postgresql', dbName: 'app', user: 'app_user' },
      { db_name: 'app', user: 'app_user' },
    );
    expect(lastPayload()).toEqual({
      type: 'postgresql',
      params: { db_name: 'app', user: 'app_user' },
    });
  });

  it('follows several installs at once, each on its own card', () => {
    const { c, msg } = setup();
    for (const id of ['python', 'go']) {
      c.preview(
        c.recipes.find((r) => r.id === id)!,
        'runtime',
        { type: id },
        {},
      );
      msg('JOB_CREATED', { jobId: `plan-${id}`, recipe: id }, `plan-${id}`);
      msg('PLAN_RESULT', { jobId: `plan-${id}`, seq: 1, actions: [] }, `plan-${id}`);
      c.confirm();
    }
    msg('JOB_CREATED', { jobId: 'job-py', recipe: 'python' }, 'job-py');
    msg('JOB_CREATED', { jobId: 'job-go', recipe: 'go' }, 'job-go');
    msg('JOB_PROGRESS', { jobId: 'job-go', seq: 2, percent: 40 }, 'job-go');
    msg(
      'INFRASTRUCTURE_LOG',
      { jobId: 'job-py', seq: 2, message: '$ apt-get install -y python3', stream: 'command' },
      'job-py',
    );
    msg('JOB_STEP', { jobId: 'job-py', seq: 3, index: 1, title: 'Install packages' }, 'job-py');
    expect(c.tasks.go).toMatchObject({ jobId: 'job-go', status: 'running', percent: 40 });
    expect(c.tasks.python).toMatchObject({
      jobId: 'job-py',
      status: 'running',
      step: 'Install packages',
    });
    msg(
      'JOB_FAILED',
      { jobId: 'job-go', seq: 9, kind: 'error', message: 'apt-get failed' },
      'job-go',
    );
    msg(
      'RUNTIME_INSTALLED',
      { jobId: 'job-py', seq: 9, type: 'python', version: '3.11.2', success: true },
      'job-py',
    );
    expect(c.tasks.go).toMatchObject({ status: 'failed', error: 'Apt-get failed.' });
    expect(c.tasks.python).toMatchObject({ status: 'succeeded', version: '3.11.2' });
    c.flushLines();
    expect(c.lines.map((l) => l.jobId)).toContain('job-py');
  });

  it('keeps a connection string out of the console and forgets it on request', () => {
    const { c, msg } = setup();
    c.preview(c.recipes[3], 'database', { type: 'redis', dbName: 'a', user: 'b' }, {});
    msg('JOB_CREATED', { jobId: 'p', recipe: 'redis' }, 'p');
    msg('PLAN_RESULT', { jobId: 'p', seq: 1, actions: [] }, 'p');
    c.confirm();
    msg('JOB_CREATED', { jobId: 'j', recipe: 'redis' }, 'j');
    msg(
      'DATABASE_CONFIGURED',
      {
        jobId: 'j',
        seq: 5,
        type: 'redis',
        connectionString: 'redis://u:s3cret@127.0.0.1:6379',
        success: true,
      },
      'j',
    );
    expect(c.tasks.redis.secret).toBe('redis://u:s3cret@127.0.0.1:6379');
    c.flushLines();
    expect(c.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(c.lines)).not.toContain('s3cret');
    c.forgetSecret('redis');
    expect(c.tasks.redis.secret).toBe('');
  });

  it("shows the plan's warnings in the plan, not in the console", () => {
    const { c, msg } = setup();
    c.preview(c.recipes[3], 'database', { type: 'redis', user: 'app' }, {});
    msg('JOB_CREATED', { jobId: 'plan-r', recipe: 'redis' }, 'plan-r');
    const lockdown =
      'Unauthenticated access to Redis will be turned off: every client must sign in';
    const summary = {
      packages: [],
      services: [],
      users: [],
      databases: [],
      files: [],
      downloads: [],
      ports: [],
      notes: [lockdown],
    };
    msg('PLAN_RESULT', { jobId: 'plan-r', seq: 3, actions: [], summary }, 'plan-r');
    c.flushLines();
    expect(c.plan?.summary?.notes).toEqual([lockdown]);
    expect(JSON.stringify(c.lines)).not.toContain('Unauthenticated');
  });

  it('puts an ERROR on the request it answers', () => {
    const { c, msg } = setup();
    c.preview(c.recipes[0], 'runtime', { type: 'python' }, {});
    msg('ERROR', {
      message: 'node node-1 is offline; wait for its agent to reconnect, then try again',
    });
    expect(c.plan).toMatchObject({ status: 'failed', error: expect.stringContaining('offline') });
    msg('ERROR', { message: 'something else' });
    expect(c.banner).toBe('something else');
  });

  it('ignores messages about other nodes and tracks online state', () => {
    const { c } = setup();
    c.handle({ type: 'NODE_STATUS', nodeId: 'node-2', payload: { online: false } });
    expect(c.online).toBe(true);
    c.handle({ type: 'NODE_STATUS', nodeId: NODE, payload: { online: false } });
    expect(c.online).toBe(false);
  });

  it('keeps an S3 secret key out of its state: placeholder in the plan, sent once, then gone', () => {
    const { c, sent, msg } = setup();
    const s3 = recipe('s3', 'backup', [
      { name: 'action', type: 'choice' },
      { name: 'bucket', type: 'string' },
      { name: 'secret_access_key', type: 'string' },
    ]);
    c.recipes = [...c.recipes, s3];
    const config = { action: 'configure', bucket: 'b1k', secret_access_key: 'REALsecret/123' };
    c.preview(s3, 'backup', { provider: 's3', config }, { ...config, secret_access_key: 'x' });
    expect(JSON.stringify(sent.at(-1))).not.toContain('REALsecret');
    expect(JSON.stringify(c.plan)).not.toContain('REALsecret');
    msg('JOB_CREATED', { jobId: 'p', recipe: 's3' }, 'p');
    msg('PLAN_RESULT', { jobId: 'p', seq: 1, actions: [] }, 'p');
    c.confirm();
    expect(sent.at(-1)).toEqual({
      type: 'CONFIGURE_BACKUP',
      nodeId: NODE,
      payload: { provider: 's3', config, planId: 'p' },
    });
    expect(sent.filter((m) => JSON.stringify(m).includes('REALsecret'))).toHaveLength(1);
    // Nothing the controller keeps holds it any more.
    const kept = JSON.stringify(c, (_k, v) => (v instanceof Map ? [...v] : v));
    expect(kept).not.toContain('REALsecret');
    msg('JOB_CREATED', { jobId: 'j', recipe: 's3' }, 'j');
    msg(
      'BACKUP_CONFIGURED',
      { jobId: 'j', seq: 9, provider: 's3', success: true, message: 'Snapshot abc saved' },
      'j',
    );
    expect(c.tasks.s3).toMatchObject({ status: 'succeeded', message: 'Snapshot abc saved' });
  });

  it('draws a burst of log lines once per frame, not once per line', () => {
    const { c, msg } = setup();
    msg('JOB_STARTED', { jobId: 'j', seq: 1, recipeId: 'python', recipeVersion: 1 }, 'j');
    for (let i = 0; i < 3000; i++) {
      msg(
        'INFRASTRUCTURE_LOG',
        { jobId: 'j', seq: i + 2, message: `line ${i}`, stream: 'stdout' },
        'j',
      );
    }
    // Nothing drawn yet: the rows wait for the next frame.
    expect(c.lines).toHaveLength(0);
    c.flushLines();
    expect(c.lines).toHaveLength(3001);
    expect(c.lines.at(-1)?.segments[0].text).toBe('line 2999');
    c.clearConsole();
    msg('INFRASTRUCTURE_LOG', { jobId: 'j', seq: 9999, message: 'after', stream: 'stdout' }, 'j');
    c.clearConsole();
    c.flushLines();
    expect(c.lines).toHaveLength(0);
  });

  it('reloads what it missed after falling behind: in order, nothing twice', async () => {
    let onMessage: (m: DashboardEvent) => void = () => {};
    let onReconnect: (why: ReconnectReason) => void = () => {};
    const socket = {
      send: () => true,
      subscribe: () => {},
      start: () => {},
      stop: () => {},
      onState: () => () => {},
      onMessage: (f: typeof onMessage) => ((onMessage = f), () => {}),
      onReconnect: (f: typeof onReconnect) => ((onReconnect = f), () => {}),
    } as unknown as DashboardSocket;
    const node = { id: NODE, name: 'web-1', online: true, lastStatus: null } as unknown as Node;
    vi.spyOn(api, 'nodes').mockResolvedValue([node]);
    vi.spyOn(api, 'recipes').mockResolvedValue([recipe('python', 'runtime')]);
    vi.spyOn(api, 'jobs').mockResolvedValue([]);
    let stored: (events: JobEvent[]) => void = () => {};
    const jobEvents = vi
      .spyOn(api, 'jobEvents')
      .mockReturnValue(new Promise((resolve) => (stored = resolve)));
    const c = new NodeController(NODE, socket);
    c.start({ node, recipes: await api.recipes() });
    await vi.waitFor(() => expect(c.recipes).toHaveLength(1));

    const live = (type: string, seq: number, extra: Record<string, unknown> = {}) =>
      onMessage({
        type,
        nodeId: NODE,
        jobId: 'j',
        payload: { jobId: 'j', seq, ...extra },
      } as DashboardEvent);
    const log = (seq: number) =>
      live('INFRASTRUCTURE_LOG', seq, { stream: 'stdout', message: `line ${seq}` });
    live('JOB_STARTED', 1, { recipeId: 'python', recipeVersion: 1 });
    log(2);
    log(3);
    // Lines 4 to 6 are lost with the socket; 6 and 7 arrive on the new one while the store is
    // being read, with the job's end.
    onReconnect('behind');
    log(6);
    log(7);
    live('RUNTIME_INSTALLED', 8, { type: 'python', success: true, version: '3.11' });
    const event = (seq: number): JobEvent => ({
      jobId: 'j',
      seq,
      type: 'INFRASTRUCTURE_LOG',
      payload: { jobId: 'j', seq, stream: 'stdout', message: `line ${seq}` },
      receivedAt: 0,
    });
    stored([1, 2, 3, 4, 5, 6].map(event));
    await vi.waitFor(() => expect(c.tasks.python?.status).toBe('succeeded'));

    expect(jobEvents).toHaveBeenCalledWith('j');
    c.flushLines();
    const output = c.lines.filter((l) => l.kind === 'output').map((l) => l.segments[0].text);
    expect(output).toEqual([2, 3, 4, 5, 6, 7].map((n) => `line ${n}`));
    expect(c.banner).toBe(t('socket.behind'));
    c.stop();
    vi.restoreAllMocks();
  });

  it('shows a cancelled job as cancelled, and a failure as a sentence with its place apart', () => {
    const { c, msg } = setup();
    msg('JOB_STARTED', { jobId: 'j1', seq: 1, recipeId: 'python', recipeVersion: 1 }, 'j1');
    msg(
      'JOB_FAILED',
      {
        jobId: 'j1',
        seq: 2,
        kind: 'cancelled',
        message: 'the job was cancelled',
        location: 'python.rhai:9',
      },
      'j1',
    );
    expect(c.tasks.python).toMatchObject({
      status: 'cancelled',
      error: 'The job was cancelled.',
      location: '',
    });
    msg('JOB_STARTED', { jobId: 'j2', seq: 1, recipeId: 'go', recipeVersion: 1 }, 'j2');
    msg(
      'JOB_FAILED',
      { jobId: 'j2', seq: 2, kind: 'error', message: 'the disk is full', location: 'go.rhai:12' },
      'j2',
    );
    expect(c.tasks.go).toMatchObject({
      status: 'failed',
      error: 'The disk is full.',
      location: 'go.rhai:12',
    });
    c.flushLines();
    const events = c.lines.filter((l) => l.kind === 'event').map((l) => l.tone);
    expect(events).toEqual(['step', 'warn', 'step', 'fail']);
  });

  it('says what a job waits for, and forgets it once the wait is over', () => {
    const { c, msg } = setup();
    msg('JOB_STARTED', { jobId: 'j', seq: 1, recipeId: 'python', recipeVersion: 1 }, 'j');
    msg(
      'JOB_WAITING',
      { jobId: 'j', seq: 2, reason: 'package_manager', holder: 'process 42 (apt-get)' },
      'j',
    );
    expect(c.tasks.python.waiting).toEqual({
      reason: 'package_manager',
      holder: 'process 42 (apt-get)',
    });
    msg('JOB_WAITING', { jobId: 'j', seq: 3, reason: null }, 'j');
    expect(c.tasks.python.waiting).toBeNull();
    msg('JOB_WAITING', { jobId: 'j', seq: 4, reason: 'cairn_job' }, 'j');
    msg('JOB_FAILED', { jobId: 'j', seq: 5, kind: 'cancelled', message: 'x' }, 'j');
    expect(c.tasks.python.waiting).toBeNull();
  });

  it('keeps Retry after a reload: the card comes back from the history, and Retry previews the same parameters', async () => {
    const { c, sent } = setup();
    const job = (over: Partial<Job>): Job => ({
      id: 'job-x',
      nodeId: NODE,
      recipe: 'postgresql',
      kind: 'CONFIGURE_DATABASE',
      requestedBy: 'admin',
      status: 'cancelled',
      createdAt: 2,
      finishedAt: 3,
      result: { kind: 'cancelled', message: 'the job was cancelled' },
      params: { dbName: 'shop', user: 'shop_user' },
      ...over,
    });
    vi.spyOn(api, 'jobs').mockResolvedValue([
      job({ id: 'plan-1', kind: 'PLAN_REQUEST', status: 'succeeded' }),
      job({}),
      job({ id: 'job-old', status: 'failed', createdAt: 1 }),
    ]);
    await c.loadHistory();
    expect(c.tasks.postgresql).toMatchObject({
      jobId: 'job-x',
      status: 'cancelled',
      error: 'The job was cancelled.',
    });
    await c.retry('job-x');
    expect(sent.at(-1)).toEqual({
      type: 'PLAN_REQUEST',
      nodeId: NODE,
      payload: { type: 'postgresql', params: { db_name: 'shop', user: 'shop_user' } },
    });
    expect(c.plan?.purpose).toBe('database');
    vi.restoreAllMocks();
  });

  it('gives each card the last lines of its own job', () => {
    const { c, msg } = setup();
    for (let i = 1; i <= 5; i++) {
      for (const j of ['a', 'b']) {
        msg('INFRASTRUCTURE_LOG', { jobId: j, seq: i, message: `${j}${i}`, stream: 'stdout' }, j);
      }
    }
    c.flushLines();
    const text = (j: string) => c.tails[j].map((l) => l.segments[0].text);
    expect(text('a')).toEqual(['a3', 'a4', 'a5']);
    expect(text('b')).toEqual(['b3', 'b4', 'b5']);
    msg('INFRASTRUCTURE_LOG', { jobId: 'a', seq: 6, message: 'a6', stream: 'stdout' }, 'a');
    c.flushLines();
    expect(text('a')).toEqual(['a4', 'a5', 'a6']);
    expect(text('b')).toEqual(['b3', 'b4', 'b5']);
    expect(lastRows({}, []).a).toBeUndefined();
    expect(CARD_LINES).toBe(3);
  });
  it('follows the first backup the control plane starts after a configure, live on the card', () => {
    const { c, sent, msg } = setup();
    c.recipes = [...c.recipes, recipe('s3', 'backup')];
    msg('JOB_STARTED', { jobId: 'conf', seq: 1, recipeId: 's3', recipeVersion: 6 }, 'conf');
    msg(
      'BACKUP_CONFIGURED',
      {
        jobId: 'conf',
        seq: 2,
        provider: 's3',
        success: true,
        firstBackupDue: true,
        message: 'Backups run; the first backup and its restore test run next as their own job',
      },
      'conf',
    );
    expect(c.tasks.s3).toMatchObject({ jobId: 'conf', status: 'succeeded' });
    // Nobody on this page asked for it: the control plane started it.
    msg('JOB_STARTED', { jobId: 'first', seq: 1, recipeId: 's3', recipeVersion: 6 }, 'first');
    expect(c.tasks.s3).toMatchObject({ jobId: 'first', status: 'running', message: '' });
    msg('JOB_STEP', { jobId: 'first', seq: 2, title: 'Restore test' }, 'first');
    expect(c.tasks.s3.step).toBe('Restore test');
    // Another job starting meanwhile does not take the card from the running one.
    msg('JOB_STARTED', { jobId: 'other', seq: 1, recipeId: 's3', recipeVersion: 6 }, 'other');
    expect(c.tasks.s3.jobId).toBe('first');
    const asked = sent.length;
    msg(
      'BACKUP_CONFIGURED',
      {
        jobId: 'first',
        seq: 3,
        provider: 's3',
        success: true,
        lastRunOk: true,
        lastRestoreTestOk: true,
        message: 'The first backup (snapshot 1a2b) was restored and verified byte for byte',
      },
      'first',
    );
    expect(c.tasks.s3).toMatchObject({ jobId: 'first', status: 'succeeded' });
    expect(c.tasks.s3.message).toContain('restored and verified');
    // The card's status is asked for again: it shows the backup made.
    expect(sent.slice(asked).some((m) => m.type === 'GET_SERVER_STATUS')).toBe(true);
  });
});
