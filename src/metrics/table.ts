// The per-class table of a report: one row per class (name, IoU, Dice, precision, recall, true
// pixels) and a closing row of means, as aligned text for a terminal or as a Markdown table.
import type { SegmentationMetrics } from './confusion.js';

export interface ClassTableOptions {
  /** One name per class; default "0", "1", ... */
  classNames?: string[];
  /** 'text' (aligned columns, default) or 'markdown'. */
  format?: 'text' | 'markdown';
  /** Decimals of the percentages. Default 2. */
  digits?: number;
}

/**
 * Scores in percent; "-" where a score is undefined (a class absent from truth and prediction,
 * or never predicted for precision). The last row holds mIoU, mean Dice, mean precision and
 * mean class accuracy over the classes where each is defined, and the counted pixels.
 */
export function formatClassTable(m: SegmentationMetrics, options: ClassTableOptions = {}): string {
  const { format = 'text', digits = 2 } = options;
  const names = options.classNames ?? Array.from({ length: m.numClasses }, (_, c) => String(c));
  if (names.length !== m.numClasses) throw new RangeError(`formatClassTable: ${names.length} class names for ${m.numClasses} classes`);
  const pct = (v: number) => (Number.isNaN(v) ? '-' : (v * 100).toFixed(digits));
  const meanOf = (xs: number[]) => {
    const ok = xs.filter((x) => !Number.isNaN(x));
    return ok.length === 0 ? NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
  };
  const header = ['class', 'IoU %', 'Dice %', 'precision %', 'recall %', 'pixels'];
  const rows = names.map((name, c) => [name, pct(m.iou[c]!), pct(m.dice[c]!), pct(m.precision[c]!), pct(m.recall[c]!), String(m.support[c])]);
  const mean = ['mean', pct(m.miou), pct(m.meanDice), pct(meanOf(m.precision)), pct(m.meanClassAccuracy), String(m.pixels)];

  if (format === 'markdown') {
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    const line = (r: string[]) => `| ${r.map(cell).join(' | ')} |`;
    return [line(header), `| --- |${' ---: |'.repeat(header.length - 1)}`, ...rows.map(line), line(mean.map((v, i) => (i === 0 ? '**mean**' : v)))].join('\n') + '\n';
  }
  if (format !== 'text') throw new RangeError(`formatClassTable: format must be 'text' or 'markdown', got '${format}'`);
  const all = [header, ...rows, mean];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line), rule, line(mean)].join('\n') + '\n';
}
