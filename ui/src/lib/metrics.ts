/**
 * A node's metrics as charts: which charts a node's series make, and their values in the units
 * a person reads (percent, load, bytes per second). Pure functions over the series the control
 * plane answers (`GET /api/nodes/{id}/metrics`), so what a chart shows is tested without a
 * canvas; `MetricsChart.svelte` draws them with uPlot.
 *
 * Series are named `family` or `family:label`, as the store names them: `cpu`, `mem.used`,
 * `mem.total`, `swap.used`, `swap.total`, `load1`, `load5`, `load15`, `disk.used:/`,
 * `disk.total:/`, `disk.read:/`, `disk.write:/` (bytes/s), `net.rx:eth0`, `net.tx:eth0`
 * (bytes/s), `svc.up:redis-server` (1 or 0).
 */

/** The time ranges the page offers, and the seconds each spans. */
export const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 } as const;
export type Range = keyof typeof RANGES;

/** Columns of one node's metrics: one time axis (unix seconds), one column per series. */
export interface Columns {
  times: number[];
  values: Record<string, (number | null)[]>;
}

export type Unit = 'percent' | 'load' | 'bytes/s';

/** One chart: its kind (the title's key), unit, the label of each line and the columns. */
export interface Chart {
  kind: 'cpu' | 'memory' | 'load' | 'disk' | 'io' | 'network';
  /** The mount point or interface a per-device chart is about ('' otherwise). */
  about: string;
  unit: Unit;
  lines: string[];
  /** uPlot's data: the times first, then one column per line. */
  data: (number | null)[][];
}

/** The labels (`/`, `eth0`) a family has, in a stable order. */
export function labelsOf(columns: Columns, family: string): string[] {
  const prefix = `${family}:`;
  return Object.keys(columns.values)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();
}

/** `part / whole` as a percentage per time; null where either is missing or whole is 0. */
export function share(part: (number | null)[] = [], whole: (number | null)[] = []) {
  return part.map((p, i) => {
    const w = whole[i];
    return p == null || w == null || w <= 0 ? null : Math.min(100, (p / w) * 100);
  });
}

function column(columns: Columns, name: string): (number | null)[] {
  return columns.values[name] ?? columns.times.map(() => null);
}

function hasData(data: (number | null)[][]) {
  return data.slice(1).some((col) => col.some((v) => v != null));
}

/** The charts a node's columns make, in the order the page shows them. A chart whose series
 * are all missing (no swap, a disk with no counters yet) is left out rather than drawn empty. */
export function chartsOf(columns: Columns): Chart[] {
  const t = columns.times;
  const charts: Chart[] = [];
  const add = (c: Chart) => {
    if (hasData(c.data)) charts.push(c);
  };
  add({
    kind: 'cpu',
    about: '',
    unit: 'percent',
    lines: ['cpu'],
    data: [t, column(columns, 'cpu')],
  });
  const memory: Chart = {
    kind: 'memory',
    about: '',
    unit: 'percent',
    lines: ['memory'],
    data: [t, share(column(columns, 'mem.used'), column(columns, 'mem.total'))],
  };
  const swap = share(column(columns, 'swap.used'), column(columns, 'swap.total'));
  if (swap.some((v) => v != null)) {
    memory.lines.push('swap');
    memory.data.push(swap);
  }
  add(memory);
  add({
    kind: 'load',
    about: '',
    unit: 'load',
    lines: ['load1', 'load5', 'load15'],
    data: [t, column(columns, 'load1'), column(columns, 'load5'), column(columns, 'load15')],
  });
  const mounts = labelsOf(columns, 'disk.used');
  if (mounts.length > 0) {
    add({
      kind: 'disk',
      about: '',
      unit: 'percent',
      lines: mounts,
      data: [
        t,
        ...mounts.map((m) =>
          share(column(columns, `disk.used:${m}`), column(columns, `disk.total:${m}`)),
        ),
      ],
    });
  }
  for (const m of labelsOf(columns, 'disk.read')) {
    add({
      kind: 'io',
      about: m,
      unit: 'bytes/s',
      lines: ['read', 'write'],
      data: [t, column(columns, `disk.read:${m}`), column(columns, `disk.write:${m}`)],
    });
  }
  for (const i of labelsOf(columns, 'net.rx')) {
    add({
      kind: 'network',
      about: i,
      unit: 'bytes/s',
      lines: ['rx', 'tx'],
      data: [t, column(columns, `net.rx:${i}`), column(columns, `net.tx:${i}`)],
    });
  }
  return charts;
}

/** The last value of a column that is not missing, or null. */
export function latest(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v != null) return v;
  }
  return null;
}

/** Points for a sparkline of `values` in a `width` × `height` box (SVG `points`), the lowest
 * value at the bottom edge; missing values are skipped. Empty when fewer than two remain. */
export function sparkline(values: (number | null)[], width: number, height: number, max?: number) {
  const present = values
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] != null);
  if (present.length < 2) return '';
  const top = max ?? Math.max(...present.map(([, v]) => v), 1e-9);
  const step = width / Math.max(values.length - 1, 1);
  return present
    .map(([i, v]) => {
      const y = height - (Math.max(0, Math.min(v, top)) / top) * height;
      return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** What `GET /api/nodes/{id}/metrics?range=` answers (docs/api.md). */
export interface MetricsAnswer {
  nodeId: string;
  range: Range;
  /** Seconds between points: the agent's sampling interval for 1h, else 60 or 3600. */
  resolution: number;
  from: number;
  to: number;
  timestamps: number[];
  series: { name: string; label?: string; unit: string; values: (number | null)[] }[];
}

/** The answer as columns named `family` or `family:label`. */
export function columnsOf(answer: MetricsAnswer): Columns {
  const values: Columns['values'] = {};
  for (const s of answer.series) {
    values[s.label != null ? `${s.name}:${s.label}` : s.name] = s.values;
  }
  return { times: answer.timestamps, values };
}

/** One node in `GET /api/metrics/overview`: its latest figures and its last hour of CPU. */
export interface NodeOverview {
  nodeId: string;
  /** The latest sample's time; null before the first. */
  at: number | null;
  cpu: number | null;
  memoryPercent: number | null;
  diskPercent: number | null;
  load1: number | null;
  /** CPU per minute over the last hour, oldest first. */
  cpuLastHour: (number | null)[];
}
