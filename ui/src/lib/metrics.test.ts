import { describe, expect, it } from 'vitest';
import { chartsOf, labelsOf, latest, share, sparkline, type Columns } from './metrics';

const GiB = 1024 ** 3;

function columns(values: Columns['values']): Columns {
  const n = Object.values(values)[0]?.length ?? 0;
  return { times: Array.from({ length: n }, (_, i) => 1_000 + i * 10), values };
}

describe('chartsOf', () => {
  it('shows memory as the share of the total in use, swap beside it when there is swap', () => {
    const charts = chartsOf(
      columns({
        'mem.used': [1 * GiB, 2 * GiB],
        'mem.total': [4 * GiB, 4 * GiB],
        'swap.used': [0, 1 * GiB],
        'swap.total': [2 * GiB, 2 * GiB],
      }),
    );
    const memory = charts.find((c) => c.kind === 'memory');
    expect(memory?.lines).toEqual(['memory', 'swap']);
    expect(memory?.data.slice(1)).toEqual([
      [25, 50],
      [0, 50],
    ]);
  });

  it('leaves swap out of the memory chart on a server without swap', () => {
    const charts = chartsOf(
      columns({ 'mem.used': [GiB], 'mem.total': [2 * GiB], 'swap.used': [0], 'swap.total': [0] }),
    );
    expect(charts.find((c) => c.kind === 'memory')?.lines).toEqual(['memory']);
  });

  it('gives each mount a line of the disk chart and its own I/O chart, each interface its own', () => {
    const charts = chartsOf(
      columns({
        'disk.used:/': [50, 60],
        'disk.total:/': [100, 100],
        'disk.used:/srv': [9, 9],
        'disk.total:/srv': [10, 10],
        'disk.read:/': [null, 4096],
        'disk.write:/': [null, 0],
        'net.rx:eth0': [null, 1000],
        'net.tx:eth0': [null, 10],
      }),
    );
    expect(charts.map((c) => `${c.kind}${c.about}`)).toEqual(['disk', 'io/', 'networketh0']);
    const disk = charts[0];
    expect(disk.lines).toEqual(['/', '/srv']);
    expect(disk.data.slice(1)).toEqual([
      [50, 60],
      [90, 90],
    ]);
    expect(charts[1].unit).toBe('bytes/s');
  });

  it('draws no empty chart: a series missing everywhere makes none', () => {
    const charts = chartsOf(columns({ cpu: [null, null], load1: [0.5, 0.7] }));
    expect(charts.map((c) => c.kind)).toEqual(['load']);
    // A missing load5/15 column is null at every time, never undefined (uPlot needs lengths).
    expect(charts[0].data.map((c) => c.length)).toEqual([2, 2, 2, 2]);
  });
});

describe('share', () => {
  it('is missing where the part or the whole is, or the whole is zero, and caps at 100', () => {
    expect(share([1, null, 5, 12], [2, 4, 0, 10])).toEqual([50, null, null, 100]);
  });
});

describe('labelsOf', () => {
  it('lists the labels of one family only, sorted', () => {
    const c = columns({ 'net.rx:eth1': [1], 'net.rx:eth0': [1], 'net.tx:eth9': [1] });
    expect(labelsOf(c, 'net.rx')).toEqual(['eth0', 'eth1']);
  });
});

describe('latest and sparkline', () => {
  it('finds the last value that is not missing', () => {
    expect(latest([1, 2, null])).toBe(2);
    expect(latest([null])).toBeNull();
  });

  it('puts the highest value at the top, the lowest at the bottom, skipping gaps', () => {
    expect(sparkline([0, null, 100], 10, 20, 100)).toBe('0.0,20.0 10.0,0.0');
    expect(sparkline([5], 10, 20)).toBe('');
  });
});
