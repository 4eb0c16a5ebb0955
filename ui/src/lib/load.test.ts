import { isHttpError, isRedirect } from '@sveltejs/kit';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { fromApi, loginPath } from './load';

const url = new URL('http://cairn.test/jobs?node=node-1');

/** What `read` makes `fromApi` throw. */
async function thrown(read: () => Promise<unknown>): Promise<unknown> {
  try {
    await fromApi(url, read);
  } catch (e) {
    return e;
  }
  throw new Error('fromApi did not throw');
}

describe('a page load through the API', () => {
  it('gives what the calls answered', async () => {
    await expect(fromApi(url, async () => ({ jobs: [] }))).resolves.toEqual({ jobs: [] });
  });

  it('turns a failed call into the error page with the API sentence and status', async () => {
    const sentence = 'There is no such job; it may have been removed.';
    const e = await thrown(async () => {
      throw new ApiError(404, sentence);
    });
    expect(isHttpError(e, 404)).toBe(true);
    expect(isHttpError(e) && e.body).toEqual({ message: sentence });
  });

  it('shows a control plane that cannot be reached as 503, with the client sentence', async () => {
    const sentence = 'The control plane cannot be reached; check that it is running.';
    const e = await thrown(async () => {
      throw new ApiError(0, sentence);
    });
    expect(isHttpError(e, 503)).toBe(true);
    expect(isHttpError(e) && e.body.message).toBe(sentence);
  });

  it('sends a 401 to the sign-in page, coming back to the page the user was opening', async () => {
    const e = await thrown(async () => {
      throw new ApiError(401, 'Sign in first.');
    });
    expect(isRedirect(e)).toBe(true);
    expect(isRedirect(e) && e.location).toBe('/login?next=%2Fjobs%3Fnode%3Dnode-1');
    expect(loginPath(url)).toBe('/login?next=%2Fjobs%3Fnode%3Dnode-1');
  });

  it('leaves a fault that is not the API to the error hook, unchanged', async () => {
    const fault = new TypeError('x is undefined');
    expect(await thrown(async () => Promise.reject(fault))).toBe(fault);
  });
});

describe('a call a role may be refused', () => {
  it('is null when refused with 403, and its answer otherwise', async () => {
    const { unlessRefused } = await import('./load');
    await expect(unlessRefused(Promise.resolve([1]))).resolves.toEqual([1]);
    await expect(unlessRefused(Promise.reject(new ApiError(403, 'your role…')))).resolves.toBe(
      null,
    );
  });

  it('lets any other failure through', async () => {
    const { unlessRefused } = await import('./load');
    await expect(unlessRefused(Promise.reject(new ApiError(500, 'failed')))).rejects.toThrow(
      'failed',
    );
  });
});
