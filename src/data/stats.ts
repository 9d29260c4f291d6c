// Dataset statistics: per-class pixel counts and image presence (masks after label mapping,
// ignore index excluded), per-channel mean/std on the 0-1 scale that torchvision's Normalize
// wants, and suggested class weights for a weighted cross-entropy.
import type { ImageBuffer, MaskBuffer, Sample, SampleRef } from './types.js';
import { writeFileAtomic, type ClassPresence } from './splits.js';

/** Anything that hands out samples by index (SegDataset, or an array wrapper in tests). */
export interface SampleSource {
  readonly length: number;
  get(i: number): Promise<Sample>;
  /** Like get, but null for a bad file skipped under the dataset's onBadFile 'skip' policy. */
  tryGet?(i: number): Promise<Sample | null>;
  /** The dataset's label map: class names, ignore index and palette default from it. */
  readonly labelMap?: { readonly ignoreIndex: number; readonly classes: string[]; readonly palette: ReadonlyArray<readonly [number, number, number]> };
}

/** Sample i under the source's bad-file policy (null: skipped). */
export function sampleOrSkip(source: SampleSource, i: number): Promise<Sample | null> {
  return source.tryGet ? source.tryGet(i) : source.get(i);
}

/**
 * Suggested class weights. n_c = pixels of class c, N = sum of n_c, K = classes present.
 * Classes with no pixels get weight 0 (they cannot contribute to the loss anyway).
 */
export interface ClassWeights {
  /** N / (K * n_c): 1 for every class of a perfectly balanced dataset. */
  inverse: number[];
  /** max_k n_k / n_c: 1 for the most frequent class. */
  maxOverCount: number[];
  /**
   * Median frequency balancing (Eigen & Fergus 2015, used by SegNet): freq_c = n_c / T_c,
   * T_c = labelled pixels of the images that contain c; w_c = median(freq) / freq_c, the
   * median over present classes (mean of the two middle values for an even count).
   */
  medianFrequency: number[];
  /** ENet (Paszke et al. 2016): 1 / ln(c + n_c / N) with c = 1.02. */
  enet: number[];
}

export interface DatasetStats {
  images: number;
  masks: number;
  numClasses: number;
  classNames?: string[];
  ignoreIndex: number;
  /** Labelled pixels (ignore excluded) and ignored pixels over all masks. */
  labelledPixels: number;
  ignoredPixels: number;
  classPixels: number[];
  /** Images whose mask contains the class at least once. */
  classImages: number[];
  /** Per class: labelled pixels of the images containing it (T_c of median frequency). */
  classImagePixels: number[];
  /** Classes below numClasses with no pixel (empty when the class count was not given). */
  absent: number[];
  /** Channels of the mean/std (3 when any image has colour; grey images count on all three). */
  channels: number;
  mean: number[];
  std: number[];
  weights: ClassWeights;
}

export const ENET_C = 1.02;

/** Which classes a mask contains and how many pixels each, skipping the ignore index. */
export function countMask(mask: MaskBuffer, ignoreIndex = 255): { counts: Map<number, number>; ignored: number } {
  const counts = new Map<number, number>();
  let ignored = 0;
  const d = mask.data;
  // Dense histogram for the common 8-bit case, map for 16-bit ids.
  if (d instanceof Uint8Array) {
    const h = new Float64Array(256);
    for (let i = 0; i < d.length; i++) h[d[i]]++;
    for (let v = 0; v < 256; v++) {
      if (h[v] === 0) continue;
      if (v === ignoreIndex) ignored = h[v];
      else counts.set(v, h[v]);
    }
  } else {
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v === ignoreIndex) ignored++;
      else counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  return { counts, ignored };
}

export interface StatsOptions {
  numClasses?: number;
  classNames?: string[];
  ignoreIndex?: number;
  /** Samples decoded at once (sharp decodes on libuv threads). */
  concurrency?: number;
  /** Called after each sample with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Accumulates statistics one image/mask at a time; order does not matter (integer counts). */
export class StatsAccumulator {
  readonly ignoreIndex: number;
  private numClasses: number;
  private readonly fixedClasses: boolean;
  private classPixels: number[] = [];
  private classImages: number[] = [];
  private classImagePixels: number[] = [];
  private labelled = 0;
  private ignored = 0;
  private images = 0;
  private masks = 0;
  private hist: Float64Array[] = []; // per channel, 256 bins
  private channels = 0;

  constructor(private readonly opts: StatsOptions = {}) {
    this.ignoreIndex = opts.ignoreIndex ?? 255;
    this.numClasses = opts.numClasses ?? 0;
    this.fixedClasses = opts.numClasses !== undefined;
    this.grow(this.numClasses);
  }

  private grow(n: number): void {
    while (this.classPixels.length < n) {
      this.classPixels.push(0);
      this.classImages.push(0);
      this.classImagePixels.push(0);
    }
    this.numClasses = Math.max(this.numClasses, n);
  }

  /** Adds a mask's class counts; returns the classes present. `where` names it in errors. */
  addMask(mask: MaskBuffer, where = 'mask'): number[] {
    const { counts, ignored } = countMask(mask, this.ignoreIndex);
    const present = [...counts.keys()].sort((a, b) => a - b);
    for (const c of present) {
      if (this.fixedClasses && c >= this.numClasses) {
        throw new Error(`${where}: value ${c} (${counts.get(c)} pixels) is not a train id below ${this.numClasses} nor the ignore index ${this.ignoreIndex}; fix the label map or the mask`);
      }
    }
    if (present.length > 0) this.grow(present[present.length - 1] + 1);
    let labelled = 0;
    for (const n of counts.values()) labelled += n;
    for (const c of present) {
      this.classPixels[c] += counts.get(c)!;
      this.classImages[c]++;
      this.classImagePixels[c] += labelled;
    }
    this.labelled += labelled;
    this.ignored += ignored;
    this.masks++;
    return present;
  }

  /** Adds an image's channel histograms. Grey images count towards every colour channel. */
  addImage(image: ImageBuffer): void {
    const colour = Math.min(image.channels, 3) === 3 ? 3 : 1; // alpha is not a colour channel
    if (colour > this.channels) {
      // A grey-only history becomes colour: copy the grey histogram to every channel.
      const grey = this.hist[0];
      this.hist = Array.from({ length: colour }, () => (grey ? Float64Array.from(grey) : new Float64Array(256)));
      this.channels = colour;
    }
    const { data, channels: stride } = image;
    const n = image.width * image.height;
    if (colour === 1) {
      const h = new Float64Array(256);
      for (let i = 0; i < n; i++) h[data[i * stride]]++;
      for (const ch of this.hist) for (let v = 0; v < 256; v++) ch[v] += h[v];
    } else {
      for (let c = 0; c < 3; c++) {
        const h = this.hist[c];
        for (let i = 0; i < n; i++) h[data[i * stride + c]]++;
      }
    }
    this.images++;
  }

  finish(): DatasetStats {
    const mean: number[] = [];
    const std: number[] = [];
    for (const h of this.hist) {
      let n = 0;
      let s = 0;
      for (let v = 0; v < 256; v++) {
        n += h[v];
        s += h[v] * v;
      }
      const m = s / n;
      let ss = 0;
      for (let v = 0; v < 256; v++) ss += h[v] * (v - m) * (v - m);
      mean.push(m / 255);
      std.push(Math.sqrt(ss / n) / 255); // population std, as over all pixels of the dataset
    }
    // Absent classes are those of a known class list; without one, unseen ids are no classes.
    const absent = this.fixedClasses ? this.classPixels.flatMap((n, c) => (n === 0 ? [c] : [])) : [];
    return {
      images: this.images,
      masks: this.masks,
      numClasses: this.numClasses,
      ...(this.opts.classNames ? { classNames: this.opts.classNames } : {}),
      ignoreIndex: this.ignoreIndex,
      labelledPixels: this.labelled,
      ignoredPixels: this.ignored,
      classPixels: [...this.classPixels],
      classImages: [...this.classImages],
      classImagePixels: [...this.classImagePixels],
      absent,
      channels: this.channels,
      mean,
      std,
      weights: classWeights(this.classPixels, this.classImagePixels),
    };
  }
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** All four weightings from per-class pixel counts (see ClassWeights for the formulas). */
export function classWeights(classPixels: number[], classImagePixels: number[]): ClassWeights {
  const present = classPixels.filter((n) => n > 0);
  const N = present.reduce((a, b) => a + b, 0);
  const K = present.length;
  const max = K > 0 ? Math.max(...present) : 0;
  const freq = classPixels.map((n, c) => (n > 0 ? n / classImagePixels[c] : 0));
  const med = K > 0 ? median(freq.filter((_, c) => classPixels[c] > 0)) : 0;
  const w = (f: (n: number, c: number) => number): number[] => classPixels.map((n, c) => (n > 0 ? f(n, c) : 0));
  return {
    inverse: w((n) => N / (K * n)),
    maxOverCount: w((n) => max / n),
    medianFrequency: w((_, c) => med / freq[c]),
    enet: w((n) => 1 / Math.log(ENET_C + n / N)),
  };
}

export interface StatsResult {
  stats: DatasetStats;
  /** Samples left out as bad files (onBadFile 'skip'). */
  skipped: SampleRef[];
  /** Classes per image, in dataset order: the input of a stratified split. */
  presence: ClassPresence[];
}

/** Runs `fn` over 0..n-1 with at most `limit` promises in flight. */
export async function forEachLimit(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker));
}

/** Statistics over every sample of a dataset (masks as the dataset delivers them: mapped). */
export async function computeStats(source: SampleSource, opts: StatsOptions = {}): Promise<StatsResult> {
  const lm = source.labelMap;
  const acc = new StatsAccumulator({
    ...opts,
    ignoreIndex: opts.ignoreIndex ?? lm?.ignoreIndex ?? 255,
    ...(opts.numClasses === undefined && lm?.classes.length ? { numClasses: lm.classes.length } : {}),
    ...(opts.classNames === undefined && lm?.classes.length ? { classNames: lm.classes } : {}),
  });
  const presence: Array<ClassPresence | undefined> = new Array(source.length);
  const skipped: SampleRef[] = [];
  let done = 0;
  await forEachLimit(source.length, opts.concurrency ?? 4, async (i) => {
    const s = await sampleOrSkip(source, i);
    if (s === null) {
      const ref = (source as { ref?: (i: number) => SampleRef }).ref?.(i);
      if (ref) skipped.push(ref);
      opts.onProgress?.(++done, source.length);
      return;
    }
    acc.addImage(s.image);
    const classes = s.mask ? acc.addMask(s.mask, s.ref.maskPath ?? s.ref.id) : [];
    presence[i] = { ref: s.ref as SampleRef, classes };
    opts.onProgress?.(++done, source.length);
  });
  return { stats: acc.finish(), presence: presence.filter((p): p is ClassPresence => p !== undefined), skipped };
}

const fmt = (x: number, d = 4): string => (x === 0 ? '0' : x.toFixed(d));

/** A plain-text table of the statistics, for the terminal. */
export function formatStats(s: DatasetStats): string {
  const lines: string[] = [];
  lines.push(`images ${s.images}, masks ${s.masks}, labelled pixels ${s.labelledPixels}, ignored pixels (${s.ignoreIndex}) ${s.ignoredPixels}`);
  lines.push(`mean ${s.mean.map((m) => m.toFixed(4)).join(', ')}   std ${s.std.map((m) => m.toFixed(4)).join(', ')}   (0-1 scale)`);
  const head = ['id', 'class', 'pixels', '%', 'images', 'inverse', 'max/count', 'median-freq', 'enet'];
  // Only the classes that occur; absent ones of the label map are named on their own line.
  const rows = s.classPixels.flatMap((n, c) => (n === 0 ? [] : [[
    String(c),
    s.classNames?.[c] ?? '',
    String(n),
    s.labelledPixels > 0 ? ((100 * n) / s.labelledPixels).toFixed(2) : '0',
    String(s.classImages[c]),
    fmt(s.weights.inverse[c]),
    fmt(s.weights.maxOverCount[c]),
    fmt(s.weights.medianFrequency[c]),
    fmt(s.weights.enet[c]),
  ]]));
  lines.push(formatTable(head, rows));
  if (s.absent.length > 0) lines.push(`classes with no pixel: ${s.absent.map((c) => (s.classNames?.[c] ? `${c} (${s.classNames[c]})` : String(c))).join(', ')}`);
  return lines.join('\n');
}

/** Text columns: `right[i]` right-aligns column i (default: all but the first two, for numbers). */
export function formatTable(head: string[], rows: string[][], right: boolean[] = head.map((_, i) => i >= 2)): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Saves statistics as JSON, atomically. */
export function writeStatsJson(path: string, stats: DatasetStats): void {
  writeFileAtomic(path, JSON.stringify(stats, null, 2) + '\n');
}
