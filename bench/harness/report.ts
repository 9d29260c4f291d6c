// Turn result rows into figures (GFLOP/s, ratios) and print them as a table or one JSON object.
import type { Row } from './run.js';
import { imagesPerSecond, type Metric, type Workload } from './workloads.js';

export type FiguredRow = Row & { value?: number; gflop_s?: number };

export interface WorkloadReport {
  name: string;
  description: string;
  metric: Metric;
  flops_per_image: number | null;
  rows: FiguredRow[];
  /** segkit / peer, oriented so that > 1 means segkit is faster. */
  segkit_vs: Record<string, number>;
  segkit_vs_best_peer: { peer: string; ratio: number } | null;
  best_peer: { peer: string; value: number } | null;
}

export function summarise(w: Workload, rows: Row[]): WorkloadReport {
  const metric = w.metric ?? imagesPerSecond;
  const figured: FiguredRow[] = rows.map((r) => {
    if (r.status !== 'ok' || !r.line) return r;
    const ips = r.line.images_per_s;
    const gflop_s = w.flopsPerImage !== undefined && typeof ips === 'number' ? (ips * w.flopsPerImage) / 1e9 : undefined;
    return { ...r, value: r.line[metric.key] as number, gflop_s };
  });
  const better = (a: number, b: number): boolean => (metric.higherIsBetter ? a > b : a < b);
  let best: { peer: string; value: number } | null = null;
  for (const r of figured) {
    if (r.kind === 'peer' && r.value !== undefined && (!best || better(r.value, best.value))) best = { peer: r.runner, value: r.value };
  }
  const segkit = figured.find((r) => r.kind === 'segkit')?.value;
  const segkit_vs: Record<string, number> = {};
  let vsBest: { peer: string; ratio: number } | null = null;
  if (segkit !== undefined) {
    const ratio = (peer: number): number => (metric.higherIsBetter ? segkit / peer : peer / segkit);
    for (const r of figured) if (r.kind === 'peer' && r.value !== undefined) segkit_vs[r.runner] = ratio(r.value);
    if (best) vsBest = { peer: best.peer, ratio: ratio(best.value) };
  }
  return {
    name: w.name,
    description: w.description,
    metric,
    flops_per_image: w.flopsPerImage ?? null,
    rows: figured,
    segkit_vs,
    segkit_vs_best_peer: vsBest,
    best_peer: best,
  };
}

const fmt = (x: number | undefined, digits = 3): string => {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(x)));
  return x.toFixed(Math.max(0, Math.min(digits - 1 - mag, 4)));
};

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

export function formatText(reports: WorkloadReport[], meta: { threads: number; reps: number }): string {
  const out: string[] = [`segkit bench: ${meta.threads} threads, median of ${meta.reps} reps after warm-up`];
  for (const w of reports) {
    out.push('', `${w.name}: ${w.description}`);
    if (w.flops_per_image !== null) out.push(`  ${fmt(w.flops_per_image / 1e9, 4)} GFLOP per image (conv layers; training = 3x forward)`);
    const hasFlops = w.flops_per_image !== null;
    const header = ['runner', w.metric.label, 'median s', 'min s', ...(hasFlops ? ['GFLOP/s'] : []), 'peak RSS MB', 'segkit/this'];
    const body: string[][] = [];
    const notes: string[] = [];
    for (const r of w.rows) {
      if (r.status !== 'ok' || !r.line) {
        body.push([r.runner, r.status, ...header.slice(2).map(() => '')]);
        notes.push(`  ${r.runner}: ${r.message ?? r.status}`);
        continue;
      }
      const vs = r.kind === 'peer' ? w.segkit_vs[r.runner] : undefined;
      body.push([
        r.runner,
        fmt(r.value),
        fmt(r.line.median_s),
        fmt(r.line.times_s && r.line.times_s.length > 0 ? Math.min(...r.line.times_s) : undefined),
        ...(hasFlops ? [fmt(r.gflop_s)] : []),
        r.line.peak_rss_mb.toFixed(0),
        vs !== undefined ? `${vs.toFixed(2)}x` : '-',
      ]);
    }
    out.push(table(header, body).replace(/^/gm, '  '));
    out.push(...notes.map((n) => n.replace(/\n/g, '\n      ')));
    const best = w.segkit_vs_best_peer;
    out.push(
      best
        ? `  segkit / best peer (${best.peer}): ${best.ratio.toFixed(2)}x${best.ratio >= 1 ? '' : ' (slower)'}`
        : `  segkit / best peer: n/a${w.best_peer ? ` (best peer: ${w.best_peer.peer}, ${fmt(w.best_peer.value)} ${w.metric.label})` : ''}`,
    );
  }
  return out.join('\n');
}

export function toJson(reports: WorkloadReport[], meta: Record<string, unknown>): unknown {
  return {
    ...meta,
    workloads: reports.map((w) => ({
      name: w.name,
      description: w.description,
      metric: w.metric.key,
      higher_is_better: w.metric.higherIsBetter,
      flops_per_image: w.flops_per_image,
      results: w.rows.map((r) => ({
        runner: r.runner,
        kind: r.kind,
        status: r.status,
        ...(r.message ? { message: r.message } : {}),
        ...(r.line ? { ...r.line, gflop_s: r.gflop_s ?? null, wall_s: r.wall_s } : {}),
        ...(r.kind === 'peer' && w.segkit_vs[r.runner] !== undefined ? { segkit_vs_this: w.segkit_vs[r.runner] } : {}),
      })),
      best_peer: w.best_peer,
      segkit_vs: w.segkit_vs,
      segkit_vs_best_peer: w.segkit_vs_best_peer,
    })),
  };
}
