import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobTimings as Timings } from '$lib/protocol.generated';
import JobTimings from './JobTimings.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

const timings: Timings = {
  jobId: 'job-1',
  seq: 9,
  totalMs: 24_800,
  scriptMs: 120,
  steps: [
    { what: '', startMs: 0, ms: 5 },
    { what: 'Install Node.js', startMs: 5, ms: 23_000 },
  ],
  calls: [{ what: 'apt_install', count: 1, ms: 9_200 }],
  processes: [{ what: 'npm --version', startMs: 20_000, ms: 2_900 }],
  programs: [{ what: 'npm', count: 3, ms: 8_700 }],
  waits: [{ what: 'dpkg lock', count: 1, ms: 1_500 }],
};

describe('JobTimings', () => {
  it('is folded, says the total, and lists every step, call, program, process and wait', () => {
    const target = document.createElement('div');
    document.body.appendChild(target);
    component = mount(JobTimings, { target, props: { timings } });
    flushSync();
    const details = target.querySelector('details');
    expect(details?.open).toBe(false);
    expect(target.querySelector('summary')?.textContent).toContain('24.80 s');
    const rows = [...target.querySelectorAll('tbody tr')].map((r) => [
      r.getAttribute('data-kind'),
      [...r.querySelectorAll('td')].map((td) => td.textContent?.trim()).join(' | '),
    ]);
    expect(rows).toEqual([
      ['step', 'Step | (before the first step) | 0.01 s'],
      ['step', 'Step | Install Node.js | 23.00 s'],
      ['call', 'Host call | apt_install ×1 | 9.20 s'],
      ['program', 'Program | npm ×3 | 8.70 s'],
      ['process', 'Process | at 20.00 s npm --version | 2.90 s'],
      ['wait', 'Wait | dpkg lock ×1 | 1.50 s'],
    ]);
  });
});
