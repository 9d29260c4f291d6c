// The dataset doctor: opens a dataset (folder, config or CSV), checks every file and the
// dataset as a whole, and returns a report of what is wrong, with the files and the fixes.
//
//   const report = await runDoctor('data/cityscapes.yaml', { html: 'doctor.html' });
//   console.log(formatReport(report)); process.exitCode = doctorExitCode(report, 'error');
import { detectEncoding, hintFromNotes, labelMapJson, scanMasks, type Encoding } from '../encodings.js';
import { averageHash, findSplitLeaks } from '../groups.js';
import { LabelMap } from '../labelmap.js';
import { StatsAccumulator, forEachLimit, formatTable, type DatasetStats } from '../stats.js';
import { readSplitCsv, type Split } from '../splits.js';
import type { SampleRef } from '../types.js';
import { CHECKS, inspectSample, settingsOf, type CheckContext, type CheckId, type DoctorIssue, type Severity } from './checks.js';
import { openInput, type InputOptions, type OpenedInput } from './input.js';

export { CHECKS, type CheckId, type DoctorIssue, type Severity } from './checks.js';
export { openInput, type OpenedInput, type InputOptions } from './input.js';

export interface DoctorOptions extends InputOptions {
  /** A split to check class coverage of: a Split or a split CSV path. Default: the input's own. */
  split?: Split | string;
  /** Class count for datasets without a label map (values at or above it are unmapped). */
  numClasses?: number;
  /** Train id treated as background by the empty-mask check (default 0). */
  backgroundId?: number;
  /** Warn when the most frequent class has more than this many times the pixels of the rarest (default 10). */
  imbalanceRatio?: number;
  /** Files decoded at once (default 4). */
  concurrency?: number;
  /** Write a self-contained HTML report here. */
  html?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface CheckSummary {
  check: CheckId;
  severity: Severity;
  title: string;
  count: number;
  fix: string;
}

export interface DoctorReport {
  input: string;
  samples: number;
  /** Class names when the label map gives them. */
  classes?: string[];
  ignoreIndex: number;
  issues: DoctorIssue[];
  /** One row per check, in report order, with its issue count (0 when clean). */
  summary: CheckSummary[];
  errors: number;
  warnings: number;
  /** Class pixel counts, presence, mean/std over what could be read. */
  stats: DatasetStats;
  /** Names of the split parts that were checked, if any. */
  splitParts?: string[];
  /** How the input was understood: layout, CSV columns, label-map file. */
  notes: string[];
  /** What the masks hold, found from their raw values when there is no label map. */
  encoding?: Encoding;
}

/** Runs every check. `input` is a folder, a dataset config or a CSV, or an already opened input. */
export async function runDoctor(input: string | OpenedInput, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const opened = typeof input === 'string' ? await openInput(input, opts) : input;
  let spec = opened.spec;
  // No label map: read the raw mask values and say what they are, with a label map to use.
  let encoding: Encoding | undefined;
  let encodingIssue: DoctorIssue | undefined;
  const notes = [...opened.notes];
  const anyLabelMap = spec.labelMap !== undefined || Object.values(spec.sources ?? {}).some((s) => s.labelMap);
  if (!anyLabelMap && spec.refs.some((r) => r.maskPath)) {
    encoding = detectEncoding(await scanMasks(spec.refs, { ...(spec.maxPixels ? { maxPixels: spec.maxPixels } : {}), concurrency: opts.concurrency ?? 4 }), hintFromNotes(opened.notes));
    if (!encoding.usableAsIs && encoding.labelMap) {
      encodingIssue = {
        check: 'label-encoding',
        severity: 'error',
        message: `masks hold ${encoding.summary}; ${encoding.why ?? 'they are not train ids'}`,
        files: [],
        details: { kind: encoding.kind, labelMap: encoding.labelMap },
      };
      // The other checks read the masks through the suggested map, so they judge the data and
      // not its encoding (0/255 masks are not "empty", colour masks are not "wrong").
      spec = { ...spec, labelMap: encoding.labelMap, ...(encoding.labelMap.colors ? { maskMode: 'rgb' as const } : {}) };
      notes.push('(the checks read the masks through the label map suggested below)');
    }
  }
  if (spec.maskMode === 'rgb' && !spec.labelMap) {
    throw new Error(`${opened.input}: colour masks (maskMode 'rgb') need a label map with \`colors\` (or a palette); pass --label-map`);
  }
  const lm = spec.labelMap ? LabelMap.from(spec.labelMap) : undefined;
  const ignoreIndex = lm?.ignoreIndex ?? 255;
  const numClasses = lm?.numClasses ?? opts.numClasses;
  const ctx: CheckContext = {
    spec,
    numClasses,
    ignoreIndex,
    backgroundId: opts.backgroundId ?? 0,
    expectMasks: spec.refs.some((r) => r.maskPath !== undefined || r.meta?.coco !== undefined) || opened.unmatchedMasks.length > 0,
  };
  const issues: DoctorIssue[] = encodingIssue ? [encodingIssue] : [];
  if (opened.noMasks) {
    issues.push({ check: 'no-masks', severity: 'error', message: `${opened.input}: none of the ${spec.refs.length} samples has a mask: ${opened.noMasks}`, files: [] });
  }
  for (const f of opened.unmatchedImages) issues.push({ check: 'missing-mask', severity: 'error', message: `${f}: no mask with the same stem`, files: [f] });
  for (const f of opened.unmatchedMasks) issues.push({ check: 'missing-image', severity: 'error', message: `${f}: no image with the same stem`, files: [f] });

  // Per sample: file checks, then the sample's numbers go into the accumulators and it is dropped.
  const acc = new StatsAccumulator({ ignoreIndex, ...(numClasses !== undefined ? { numClasses } : {}), classNames: lm?.classes });
  const presence = new Map<string, number[]>();
  const hashes = new Map<string, string[]>();
  const looks = new Map<string, string>(); // sample id → average hash, for near-duplicates across parts
  const perSample: DoctorIssue[][] = new Array(spec.refs.length);
  let done = 0;
  await forEachLimit(spec.refs.length, opts.concurrency ?? 4, async (i) => {
    const ref = spec.refs[i];
    const f = await inspectSample(ref, ctx);
    perSample[i] = f.issues;
    if (f.image) {
      acc.addImage(f.image);
      const list = hashes.get(f.imageHash!) ?? [];
      list.push(ref.imagePath);
      hashes.set(f.imageHash!, list);
      looks.set(ref.id, averageHash(f.image));
    }
    if (f.mask) {
      // Ids past numClasses were already reported as unmapped and mapped to ignore.
      presence.set(ref.id, acc.addMask(f.mask, ref.maskPath ?? ref.id));
    }
    opts.onProgress?.(++done, spec.refs.length);
  });
  for (const list of perSample) issues.push(...list);
  const stats = acc.finish();

  for (const files of hashes.values()) {
    if (files.length > 1) {
      files.sort();
      issues.push({ check: 'duplicate-image', severity: 'warn', message: `${files.length} images with identical pixels: ${files.join(', ')}`, files });
    }
  }
  const name = (c: number): string => (lm?.classes[c] ? `${c} (${lm.classes[c]})` : String(c));
  if (numClasses !== undefined && presence.size > 0) {
    const absent = stats.absent.filter((c) => c < numClasses);
    if (absent.length > 0) {
      issues.push({ check: 'absent-class', severity: 'warn', message: `no pixel of class${absent.length > 1 ? 'es' : ''} ${absent.map(name).join(', ')} in any mask`, files: [], details: { classes: absent } });
    }
  }

  // Class coverage per split part.
  const split = typeof opts.split === 'string' ? readSplitCsv(opts.split) : (opts.split ?? opened.split);
  if (split) {
    const present = new Set(stats.classPixels.flatMap((n, c) => (n > 0 ? [c] : [])));
    for (const part of split.names) {
      const seen = new Set<number>();
      for (const r of split.parts[part]) for (const c of presence.get(r.id) ?? []) seen.add(c);
      const missing = [...present].filter((c) => !seen.has(c)).sort((a, b) => a - b);
      if (missing.length > 0 && split.parts[part].length > 0) {
        issues.push({
          check: 'split-missing-class',
          severity: 'warn',
          message: `split "${part}" (${split.parts[part].length} samples) has no pixel of class${missing.length > 1 ? 'es' : ''} ${missing.map(name).join(', ')}`,
          files: [],
          details: { part, classes: missing },
        });
      }
    }
  }

  // Leaks: groups of frames and near-identical images in more than one part.
  if (split) {
    for (const leak of findSplitLeaks(split, looks)) {
      const where = Object.entries(leak.parts).map(([p, ids]) => `${p} (${ids.length}: ${ids.slice(0, 2).join(', ')}${ids.length > 2 ? ', ...' : ''})`).join(' and ');
      const what = leak.kind === 'near-duplicate' ? 'near-identical images' : leak.kind === 'timestamps' ? 'consecutive timestamped frames' : `${leak.kind} "${leak.key}"`;
      issues.push({ check: 'split-leak', severity: 'warn', message: `${what} split apart: ${where}`, files: [], details: { ...leak } });
    }
  }

  // Imbalance between the most and least frequent classes that do occur.
  const ratioLimit = opts.imbalanceRatio ?? 10;
  const occurring = stats.classPixels.flatMap((n, c) => (n > 0 ? [{ c, n }] : []));
  if (occurring.length > 1) {
    const max = occurring.reduce((a, b) => (b.n > a.n ? b : a));
    const min = occurring.reduce((a, b) => (b.n < a.n ? b : a));
    if (max.n / min.n > ratioLimit) {
      const rare = occurring.filter((o) => max.n / o.n > ratioLimit).map((o) => o.c);
      issues.push({
        check: 'imbalance',
        severity: 'warn',
        message: `class ${name(max.c)} has ${(max.n / min.n).toFixed(1)}x the pixels of class ${name(min.c)} (limit ${ratioLimit}); classes under 1/${ratioLimit} of the largest: ${rare.map(name).join(', ')}`,
        files: [],
        details: { ratio: max.n / min.n, max: max.c, min: min.c, rare },
      });
    }
  }

  const order = Object.keys(CHECKS) as CheckId[];
  issues.sort((a, b) => order.indexOf(a.check) - order.indexOf(b.check));
  const summary = order.map((check) => ({ check, ...CHECKS[check], count: issues.filter((i) => i.check === check).length }));
  const report: DoctorReport = {
    input: opened.input,
    samples: spec.refs.length,
    ...(lm ? { classes: lm.classes } : {}),
    ignoreIndex,
    issues,
    summary,
    errors: issues.filter((i) => i.severity === 'error').length,
    warnings: issues.filter((i) => i.severity === 'warn').length,
    stats,
    ...(split ? { splitParts: split.names } : {}),
    notes,
    ...(encoding ? { encoding } : {}),
  };
  if (opts.html) {
    const { writeHtmlReport } = await import('./html.js');
    await writeHtmlReport(opts.html, report, spec);
  }
  return report;
}

/** The summary table plus the first few issues of each check, for the terminal. */
export function formatReport(report: DoctorReport, perCheck = 5): string {
  const lines = [`dataset doctor: ${report.input} — ${report.samples} samples, ${report.errors} error(s), ${report.warnings} warning(s)`];
  for (const n of report.notes ?? []) lines.push(`  ${n}`);
  const enc = report.encoding;
  if (enc) {
    lines.push(`  masks: ${enc.summary}`);
    if (enc.labelMap) {
      lines.push(
        enc.usableAsIs
          ? `  no label map: the values are used as train ids; to name the classes, save this as labelmap.json beside the data (segkit labelmap ${report.input} does it):`
          : `  no label map, and the masks need one: save this as labelmap.json beside the data (segkit labelmap ${report.input} does it), then edit the class names:`,
      );
      lines.push(...labelMapJson(enc.labelMap).trimEnd().split('\n').map((l) => `    ${l}`));
    }
  }
  lines.push('');
  const rows = report.summary.map((s) => [s.check, s.title, s.count > 0 ? s.severity : 'ok', String(s.count)]);
  lines.push(formatTable(['check', 'what', 'level', 'count'], rows, [false, false, false, true]));
  for (const s of report.summary) {
    if (s.count === 0) continue;
    const list = report.issues.filter((i) => i.check === s.check);
    lines.push('', `${s.severity === 'error' ? 'ERROR' : 'WARN '} ${s.check} (${s.count}): ${s.fix}`);
    for (const i of list.slice(0, perCheck)) lines.push(`  ${i.message}`);
    if (list.length > perCheck) lines.push(`  ... and ${list.length - perCheck} more (see --html or the JSON report)`);
  }
  return lines.join('\n');
}

/** Exit status for the CLI: 1 when there are errors (or warnings with failOn 'warn'), else 0. */
export function doctorExitCode(report: DoctorReport, failOn: 'error' | 'warn' = 'error'): number {
  return report.errors > 0 || (failOn === 'warn' && report.warnings > 0) ? 1 : 0;
}

/** Samples named by the report's issues (for scripts that drop bad samples). */
export function offendingRefs(report: DoctorReport): SampleRef[] {
  const seen = new Map<string, SampleRef>();
  for (const i of report.issues) if (i.ref && i.severity === 'error') seen.set(i.ref.id, i.ref);
  return [...seen.values()];
}

export { settingsOf };
