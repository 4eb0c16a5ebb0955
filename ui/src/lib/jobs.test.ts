import { describe, expect, it } from 'vitest';
import type { Job } from './api';
import { failure, failureOf, filterJobs, jobTitle, NO_FILTER, retryOf } from './jobs';

function job(over: Partial<Job>): Job {
  return {
    id: 'job-1',
    nodeId: 'n1',
    recipe: 'node',
    kind: 'INSTALL_RUNTIME',
    requestedBy: 'admin',
    status: 'succeeded',
    createdAt: 1,
    finishedAt: 2,
    result: null,
    params: null,
    ...over,
  };
}

describe('failure', () => {
  it('makes a sentence first: capitalised, with a full stop, the location apart', () => {
    expect(failure('the disk is full', 'rust.rhai:67')).toEqual({
      sentence: 'The disk is full.',
      location: 'rust.rhai:67',
    });
    expect(failure('Already a sentence.').sentence).toBe('Already a sentence.');
  });

  it('takes the location off the message of a job stored by an earlier version', () => {
    expect(failure('the job was cancelled (at rust.rhai:67)')).toEqual({
      sentence: 'The job was cancelled.',
      location: 'rust.rhai:67',
    });
  });

  it('reads a stored job: a cancelled one is said plainly, a failed one with its details', () => {
    expect(failureOf(job({ status: 'cancelled' }))?.sentence).toBe('The job was cancelled.');
    const failed = job({
      status: 'failed',
      result: { message: '`apt-get` failed with exit code 100', location: 'node.rhai:40' },
    });
    expect(failureOf(failed)).toEqual({
      sentence: '`apt-get` failed with exit code 100.',
      location: 'node.rhai:40',
    });
    expect(failureOf(job({}))).toBeNull();
  });
});

describe('jobTitle', () => {
  it('names a job by what it does, and what it did once it succeeded', () => {
    expect(jobTitle(job({}), 'Node.js')).toBe('Installed Node.js');
    expect(jobTitle(job({ status: 'failed' }), 'Node.js')).toBe('Install Node.js');
    expect(jobTitle(job({ kind: 'CONFIGURE_DATABASE' }), 'PostgreSQL')).toBe(
      'Set up database PostgreSQL',
    );
    const run = job({ kind: 'CONFIGURE_BACKUP', params: { config: { action: 'run_now' } } });
    expect(jobTitle(run, 'S3')).toBe('Backed up with S3');
    expect(jobTitle(job({ kind: 'PLAN_REQUEST' }), 'Redis')).toBe('Preview Redis');
  });
});

describe('retryOf', () => {
  it('sends a runtime or a database job again with the same parameters', () => {
    const rt = job({
      status: 'cancelled',
      params: { version: '20', params: { channel: 'lts' } },
    });
    expect(retryOf(rt)).toEqual({
      form: false,
      purpose: 'runtime',
      payload: { type: 'node', version: '20', params: { channel: 'lts' } },
      params: { channel: 'lts' },
    });
    const db = job({
      kind: 'CONFIGURE_DATABASE',
      recipe: 'postgresql',
      status: 'failed',
      params: { dbName: 'shop', user: 'shop_user' },
    });
    expect(retryOf(db)).toEqual({
      form: false,
      purpose: 'database',
      payload: { type: 'postgresql', dbName: 'shop', user: 'shop_user' },
      params: { db_name: 'shop', user: 'shop_user' },
    });
  });

  it('opens a backup configuration again in its form, so its secret is asked again', () => {
    const b = job({
      kind: 'CONFIGURE_BACKUP',
      recipe: 's3',
      status: 'failed',
      params: { config: { action: 'configure', bucket: 'b1', access_key_id: 'AK' } },
    });
    expect(retryOf(b)).toEqual({
      form: true,
      purpose: 'backup',
      values: { bucket: 'b1', access_key_id: 'AK' },
    });
  });

  it('offers nothing for a success, a preview or a job without its parameters', () => {
    expect(retryOf(job({ params: { params: {} } }))).toBeNull();
    expect(retryOf(job({ kind: 'PLAN_REQUEST', status: 'failed', params: {} }))).toBeNull();
    expect(retryOf(job({ status: 'failed' }))).toBeNull();
  });
});

describe('filterJobs', () => {
  const jobs = [
    job({ id: 'a', nodeId: 'n1', status: 'cancelled' }),
    job({ id: 'b', nodeId: 'n2', status: 'failed', recipe: 'redis' }),
    job({ id: 'c', nodeId: 'n1', kind: 'PLAN_REQUEST' }),
  ];
  const words = (j: Job) => `${j.recipe} ${j.nodeId}`;
  const ids = (f: Partial<typeof NO_FILTER>) =>
    filterJobs(jobs, { ...NO_FILTER, ...f }, words).map((j) => j.id);

  it('leaves out the previews an older control plane stored as jobs', () => {
    expect(ids({})).toEqual(['a', 'b']);
  });

  it('filters by node, status and text together', () => {
    expect(ids({ node: 'n1' })).toEqual(['a']);
    expect(ids({ status: 'failed' })).toEqual(['b']);
    expect(ids({ text: 'REDIS' })).toEqual(['b']);
    expect(ids({ node: 'n2', status: 'cancelled' })).toEqual([]);
  });
});
