// The run report (src/report's one-page HTML) from what a run wrote: curves from train.jsonl
// (loss and its terms, lr, validation metrics), the best and last figures, the per-class table
// and confusion matrix of the last validation, the sample predictions, the configuration.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReportData, Series } from '../report/index.js';
import { JsonlLog } from './logging.js';

export interface ReportInputs {
  title: string;
  config: unknown;
  best: { metric: string; value: number; step: number } | null;
  lastMetrics: Record<string, number> | null;
  /** The last validation's confusion matrix (truth rows, prediction columns), when the evaluator gives one. */
  confusion?: number[][];
  classNames?: string[];
  step: number;
  skipped: number;
}

const PER_CLASS = ['iou', 'dice', 'precision', 'recall'];

export function runReportData(runDir: string, r: ReportInputs): RunReportData {
  const log = JsonlLog.read(join(runDir, 'train.jsonl'));
  const series = new Map<string, Series>();
  const add = (group: string, name: string, x: number, y: unknown) => {
    if (typeof y !== 'number') return;
    const key = `${group}/${name}`;
    if (!series.has(key)) series.set(key, { group, name, points: [] });
    series.get(key)!.points.push([x, y]);
  };
  for (const rec of log) {
    if (rec.type === 'train' && rec.step !== undefined) {
      for (const [k, v] of Object.entries((rec.terms as Record<string, number>) ?? {})) add('training loss', k, rec.step, v);
      add('learning rate', 'lr', rec.step, rec.lr);
    } else if (rec.type === 'val' && rec.step !== undefined) {
      for (const [k, v] of Object.entries((rec.metrics as Record<string, number>) ?? {})) if (!k.includes('.') && k !== 'pixels') add('validation', k, rec.step, v);
    }
  }
  const summary: Record<string, number | string> = { steps: String(r.step) };
  if (r.best) Object.assign(summary, { [`best ${r.best.metric}`]: r.best.value, 'best at step': String(r.best.step) });
  for (const k of ['miou', 'pixelAccuracy', 'meanDice', 'binaryDice']) if (typeof r.lastMetrics?.[k] === 'number') summary[`last ${k}`] = r.lastMetrics[k]!;
  if (r.skipped) summary['skipped steps'] = String(r.skipped);
  const data: RunReportData = { title: r.title, subtitle: `${r.step} steps, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, summary, series: [...series.values()], config: r.config };
  const names = r.classNames;
  if (names && r.lastMetrics) {
    const columns = PER_CLASS.filter((m) => names.some((n) => `${m}.${n}` in r.lastMetrics!)).map((m) => ({ name: m, values: names.map((n) => r.lastMetrics![`${m}.${n}`] ?? NaN), format: 'percent' as const }));
    if (columns.length) data.classTable = { classes: names, columns };
  }
  if (r.confusion) data.confusion = { classes: names ?? r.confusion.map((_, i) => String(i)), matrix: r.confusion };
  const samples = join(runDir, 'samples.png');
  if (existsSync(samples)) data.panels = [{ caption: 'validation images: image | truth | prediction', png: readFileSync(samples) }];
  return data;
}
