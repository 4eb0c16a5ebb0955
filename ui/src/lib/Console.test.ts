import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import Console from './Console.svelte';
import { RENDER_MAX, rowsForEvent } from './console';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

function log(message: string, stream = 'stdout', jobId = 'job-1') {
  return rowsForEvent('INFRASTRUCTURE_LOG', jobId, { jobId, seq: 1, message, stream });
}

function render(lines: ReturnType<typeof log>, jobLabels: Record<string, string> = {}) {
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(Console, { target, props: { lines, jobLabels } });
  flushSync();
  return target;
}

describe('Console (threats.md row 20)', () => {
  it('shows screen-clearing and cursor sequences inert, keeping earlier lines', () => {
    const lines = [
      ...log('E: Unable to locate package python3'),
      ...log('\x1b[2J\x1b[H\x1b[1A\x1b[2K✅ Python 3.11.2 installed successfully'),
    ];
    const el = render(lines);
    const rows = el.querySelectorAll('.row');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('E: Unable to locate package python3');
    const inert = [...rows[1].querySelectorAll('.inert')].map((s) => s.textContent);
    expect(inert).toEqual(['␛[2J', '␛[H', '␛[1A', '␛[2K']);
    // No raw escape character reaches the page.
    expect(el.textContent).not.toContain('\x1b');
  });

  it('draws a faked success line as output, never as a dashboard event', () => {
    const fake = log('Cairn: python 3.11.2 is installed.');
    const real = rowsForEvent('RUNTIME_INSTALLED', 'job-1', {
      jobId: 'job-1',
      seq: 9,
      type: 'python',
      version: '3.11.2',
      success: true,
    });
    const el = render([...fake, ...real]);
    const rows = el.querySelectorAll('.row');
    expect(rows[0].getAttribute('data-kind')).toBe('output');
    expect(rows[0].classList.contains('event')).toBe(false);
    expect(rows[1].getAttribute('data-kind')).toBe('event');
    expect(rows[1].classList.contains('tone-ok')).toBe(true);
  });

  it('keeps a carriage return inside its own output row, and marks the row rewritten', () => {
    const el = render([...log('step failed\r\x1b[32m✓ done\x1b[0m'), ...log('next')]);
    const rows = el.querySelectorAll('.row');
    expect(rows).toHaveLength(2);
    // Overwritten as a terminal would, but still an output row, never a dashboard event...
    expect(rows[0].getAttribute('data-kind')).toBe('output');
    expect(rows[0].querySelector('.text')?.textContent).toBe('✓ doneailed');
    // ...and marked as a row its program rewrote.
    expect(rows[0].getAttribute('data-rewritten')).toBe('true');
    expect(rows[0].querySelector('.gutter')?.textContent).toBe('↻');
    expect(rows[1].hasAttribute('data-rewritten')).toBe(false);
  });

  it('shows a command echo as the command is, a carriage return in it inert', () => {
    const el = render(log("$ printf 'a\rb'", 'command'));
    expect(el.querySelector('.row .text')?.textContent).toBe("$ printf 'a␍b'");
    expect(el.querySelector('.row')?.hasAttribute('data-rewritten')).toBe(false);
  });

  it('shows the last state of a dpkg-style progress line', () => {
    const el = render(log('Progress: [ 20%]\rProgress: [ 60%]\rProgress: [100%]'));
    expect(el.querySelector('.row .text')?.textContent).toBe('Progress: [100%]');
    expect(el.textContent).not.toContain('␍');
  });

  it('renders colours as spans with classes, and markup as text', () => {
    const el = render(log('\x1b[31merror\x1b[0m <b>not bold</b><script>alert(1)</script>'));
    const red = el.querySelector('.fg-red');
    expect(red?.textContent).toBe('error');
    expect(red?.tagName).toBe('SPAN');
    expect(el.querySelector('b')).toBeNull();
    expect(el.querySelector('.console script')).toBeNull();
    expect(el.textContent).toContain('<b>not bold</b><script>alert(1)</script>');
  });

  it('filters by job', () => {
    const el = render(
      [...log('from one', 'stdout', 'job-1'), ...log('from two', 'stdout', 'job-2')],
      {
        'job-1': 'python',
        'job-2': 'redis',
      },
    );
    const select = el.querySelector('select') as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(['All jobs', 'python', 'redis']);
    select.value = 'job-2';
    select.dispatchEvent(new Event('change'));
    flushSync();
    const rows = [...el.querySelectorAll('.row')].map((r) => r.textContent);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('from two');
  });

  it('marks stderr and command lines by their stream', () => {
    const el = render([
      ...log('$ apt-get install -y redis-server', 'command'),
      ...log('oops', 'stderr'),
    ]);
    const rows = el.querySelectorAll('.row');
    expect(rows[0].classList.contains('tone-command')).toBe(true);
    expect(rows[1].classList.contains('tone-stderr')).toBe(true);
  });

  it('puts only the latest RENDER_MAX rows in the page and says how many are not shown', () => {
    const many = Array.from({ length: RENDER_MAX + 700 }, (_, i) => log(`line ${i}`)[0]);
    const el = render(many);
    const rows = el.querySelectorAll('.row');
    expect(rows).toHaveLength(RENDER_MAX);
    expect(rows[rows.length - 1].textContent).toContain(`line ${RENDER_MAX + 699}`);
    expect(el.querySelector('[data-testid=console-hidden]')?.textContent).toContain('700 earlier');
  });
});
