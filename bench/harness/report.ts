// Turn result rows into figures (GFLOP/s, ratios) and print them as a table or one JSON object.
import { median } from './protocol.js';
import type { Row } from './run.js';
import { imagesPerSecond, type Metric, type Workload } from './workloads.js';

export type FiguredRow = Row & { value?: number; gflop_s?: number };

export interface WorkloadReport {
  name: string;
  description: string;
  metric: Metric;
  flops_per_image: number | null;
  rows: FiguredRow[];
  /** segkit / peer, oriented so that > 1 means segkit is faster: the median of the per-round ratios. */
  segkit_vs: Record<string, number>;
  /** The lowest and highest per-round ratio (runners alternate round by round, so each round pairs runs made close in time). */
  segkit_vs_spread: Record<string, [number, number]>;
  segkit_vs_best_peer: { peer: string; ratio: number; spread: [number, number] } | null;
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
  const segkitRow = figured.find((r) => r.kind === 'segkit' && r.value !== undefined);
  const segkit_vs: Record<string, number> = {};
  const segkit_vs_spread: Record<string, [number, number]> = {};
  let vsBest: WorkloadReport['segkit_vs_best_peer'] = null;
  if (segkitRow) {
    const ratio = (s: number, peer: number): number => (metric.higherIsBetter ? s / peer : peer / s);
    const perRound = (r: FiguredRow): number[] => r.round_values ?? [r.value!];
    const mine = perRound(segkitRow);
    for (const r of figured) {
      if (r.kind !== 'peer' || r.value === undefined) continue;
      const theirs = perRound(r);
      const ratios = mine.map((v, i) => ratio(v, theirs[i] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
      if (ratios.length === 0) continue;
      segkit_vs[r.runner] = median(ratios);
      segkit_vs_spread[r.runner] = [ratios[0]!, ratios[ratios.length - 1]!];
    }
    if (best && segkit_vs[best.peer] !== undefined) vsBest = { peer: best.peer, ratio: segkit_vs[best.peer]!, spread: segkit_vs_spread[best.peer]! };
  }
  return {
    name: w.name,
    description: w.description,
    metric,
    flops_per_image: w.flopsPerImage ?? null,
    rows: figured,
    segkit_vs,
    segkit_vs_spread,
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

const spread = (s: [number, number] | undefined): string => (s && s[0] !== s[1] ? ` (${s[0].toFixed(2)}-${s[1].toFixed(2)})` : '');

export function formatText(reports: WorkloadReport[], meta: { threads: number; reps: number; rounds: number; cpu: string }): string {
  const out: string[] = [
    `segkit bench: ${meta.threads} threads, median of ${meta.reps} reps after warm-up, ${meta.rounds} round(s) with the runners' order alternating`,
    `CPU: ${meta.cpu}`,
    meta.rounds > 1 ? 'rows: the median round; segkit/this: median of the per-round ratios (lowest-highest)' : '',
  ].filter(Boolean);
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
        vs !== undefined ? `${vs.toFixed(2)}x${spread(w.segkit_vs_spread[r.runner])}` : '-',
      ]);
    }
    out.push(table(header, body).replace(/^/gm, '  '));
    out.push(...notes.map((n) => n.replace(/\n/g, '\n      ')));
    const best = w.segkit_vs_best_peer;
    out.push(
      best
        ? `  segkit / best peer (${best.peer}): ${best.ratio.toFixed(2)}x${spread(best.spread)}${best.ratio >= 1 ? '' : ', slower'}`
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
        ...(r.round_values ? { round_values: r.round_values } : {}),
        ...(r.kind === 'peer' && w.segkit_vs[r.runner] !== undefined ? { segkit_vs_this: w.segkit_vs[r.runner], segkit_vs_this_spread: w.segkit_vs_spread[r.runner] } : {}),
      })),
      best_peer: w.best_peer,
      segkit_vs: w.segkit_vs,
      segkit_vs_spread: w.segkit_vs_spread,
      segkit_vs_best_peer: w.segkit_vs_best_peer,
    })),
  };
}
