// Train/val/test splits: random by ratio, ordered by a key (file name or a timestamp in the
// name), and stratified by per-image class presence. Splits are written as CSV and read back,
// so a training run can name the exact split it used.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseDelimited } from './sources/csv.js';
import type { SampleRef } from './types.js';

/** Named parts of a split, each an ordered list of samples. Part order is the ratio order. */
export interface Split {
  names: string[];
  parts: Record<string, SampleRef[]>;
}

export const DEFAULT_PART_NAMES = ['train', 'val', 'test'];

/** Names for `count` parts: train, val, test, then part4, part5, ... */
export function partNames(count: number, names?: string[]): string[] {
  if (names && names.length !== count) {
    throw new Error(`split: ${names.length} part names (${names.join(', ')}) for ${count} ratios; give one name per ratio`);
  }
  return names ?? Array.from({ length: count }, (_, i) => DEFAULT_PART_NAMES[i] ?? `part${i + 1}`);
}

/** Parses "7:2:1" (or "0.7,0.2,0.1", "70/20/10") into positive weights. */
export function parseRatios(text: string): number[] {
  const parts = text.split(/[:,/]/).map((s) => s.trim());
  const ratios = parts.map(Number);
  if (parts.length < 2 || ratios.some((r) => !Number.isFinite(r) || r < 0) || ratios.every((r) => r === 0)) {
    throw new Error(`split: cannot read ratios "${text}"; write them like 7:2:1 (two or more non-negative numbers)`);
  }
  return ratios;
}

/**
 * How many of `n` items each part gets: floor of the exact share, then the leftover items go
 * to the parts with the largest fractional remainders (earlier parts win ties). Sums to n.
 */
export function partSizes(n: number, ratios: number[]): number[] {
  const total = ratios.reduce((a, b) => a + b, 0);
  const exact = ratios.map((r) => (n * r) / total);
  const sizes = exact.map(Math.floor);
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (ratios[i] > 0) {
      sizes[i]++;
      left--;
    }
  }
  return sizes;
}

/** Seeded PRNG (mulberry32): uniform floats in [0, 1). Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle in place with the given PRNG. */
export function shuffleInPlace<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const byId = (a: SampleRef, b: SampleRef): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function checkUniqueIds(refs: SampleRef[]): void {
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.id)) throw new Error(`split: sample id "${r.id}" appears twice (${r.imagePath}); ids must be unique, rename one of the files`);
    seen.add(r.id);
  }
}

function cut(sorted: SampleRef[], ratios: number[], names: string[]): Split {
  const sizes = partSizes(sorted.length, ratios);
  const parts: Record<string, SampleRef[]> = {};
  let at = 0;
  names.forEach((name, i) => {
    parts[name] = sorted.slice(at, at + sizes[i]);
    at += sizes[i];
  });
  return { names, parts };
}

export interface RandomSplitOptions {
  seed?: number;
  names?: string[];
}

/**
 * Random split by ratio. Samples are sorted by id before the seeded shuffle, so the result
 * depends only on the set of ids, the ratios and the seed, not on directory listing order.
 */
export function randomSplit(refs: SampleRef[], ratios: number[], opts: RandomSplitOptions = {}): Split {
  checkUniqueIds(refs);
  const names = partNames(ratios.length, opts.names);
  const items = shuffleInPlace([...refs].sort(byId), mulberry32(opts.seed ?? 0));
  return cut(items, ratios, names);
}

/**
 * Default timestamp pattern: the first run of 9+ digits, with an optional fraction
 * ("1541096332.123", "1541096332123", "frame_1541096332_456" gives 1541096332.456).
 */
export const DEFAULT_TIMESTAMP_REGEX = /(\d{9,})(?:[._](\d+))?/;

export interface OrderedSplitOptions {
  /** 'name': file name order (numeric-aware); 'timestamp': number parsed from the file name. */
  key?: 'name' | 'timestamp';
  /** Pattern for 'timestamp': first capture group is the integer part, optional second the fraction. */
  regex?: RegExp;
  names?: string[];
}

/** The number a timestamp regex pulls out of a file name, or an error naming the file. */
export function timestampOf(ref: SampleRef, regex: RegExp = DEFAULT_TIMESTAMP_REGEX): number {
  const name = basename(ref.imagePath);
  const m = regex.exec(name);
  if (!m || m[1] === undefined) {
    throw new Error(`split: no timestamp in file name "${name}" (${ref.imagePath}) for pattern ${regex}; pass --key-regex with a capture group for the number, or use --key name`);
  }
  const value = Number(m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]);
  if (!Number.isFinite(value)) throw new Error(`split: timestamp "${m[0]}" in "${name}" is not a number`);
  return value;
}

const nameCollator = new Intl.Collator('en', { numeric: true });

/**
 * Ordered split: sort by the key, then cut in ratio order, e.g. earliest 70% train, next 20%
 * val, last 10% test. No frame of a later part is older than a frame of an earlier one.
 */
export function orderedSplit(refs: SampleRef[], ratios: number[], opts: OrderedSplitOptions = {}): Split {
  checkUniqueIds(refs);
  const names = partNames(ratios.length, opts.names);
  let sorted: SampleRef[];
  if ((opts.key ?? 'name') === 'timestamp') {
    const keyed = refs.map((ref) => ({ ref, t: timestampOf(ref, opts.regex) }));
    keyed.sort((a, b) => a.t - b.t || byId(a.ref, b.ref));
    sorted = keyed.map((k) => k.ref);
  } else {
    sorted = [...refs].sort((a, b) => nameCollator.compare(basename(a.imagePath), basename(b.imagePath)) || byId(a, b));
  }
  return cut(sorted, ratios, names);
}

/** Which classes (train ids) appear in one image. */
export interface ClassPresence {
  ref: SampleRef;
  classes: number[];
}

export interface StratifiedSplitOptions extends RandomSplitOptions {
  /** Number of classes, to also report classes that no image contains. */
  numClasses?: number;
}

/** A class that a part lacks, and why. */
export interface UnplacedClass {
  classId: number;
  part: string;
  /** Images in the whole dataset that contain the class. */
  images: number;
}

export interface StratifiedSplit extends Split {
  /** Classes a part could not get: too few images contain them (or no room in the part). */
  unplaced: UnplacedClass[];
  /** Classes below numClasses that no image contains at all. */
  absent: number[];
}

/**
 * Stratified split by per-image class presence.
 *
 * 1. Coverage, rarest class first: each part (in order train, val, test, ...) that lacks the
 *    class gets one unassigned image containing it, while such images and room remain. So a
 *    class in 2 images lands in train and val; in 1 image only in train. Classes a part
 *    could not get are reported in `unplaced`.
 * 2. The rest by iterative stratification (Sechidis, Tsoumakas & Vlahavas 2011): take the
 *    label with the fewest unassigned images, give each of its images to the part that still
 *    wants the most of that label (ties: the part with the most room left, then random).
 *    Images without any class go last to the parts with the most room.
 * Part sizes match `partSizes` exactly.
 */
export function stratifiedSplit(items: ClassPresence[], ratios: number[], opts: StratifiedSplitOptions = {}): StratifiedSplit {
  checkUniqueIds(items.map((it) => it.ref));
  const names = partNames(ratios.length, opts.names);
  const rand = mulberry32(opts.seed ?? 0);
  const pool = shuffleInPlace([...items].sort((a, b) => byId(a.ref, b.ref)), rand);
  const P = ratios.length;
  const rsum = ratios.reduce((a, b) => a + b, 0);
  const room = partSizes(pool.length, ratios);
  const partOf = new Array<number>(pool.length).fill(-1);

  // Images per label and the per-part wish for each label.
  const byLabel = new Map<number, number[]>();
  pool.forEach((it, i) => {
    for (const c of new Set(it.classes)) {
      if (!byLabel.has(c)) byLabel.set(c, []);
      byLabel.get(c)!.push(i);
    }
  });
  const wish = new Map<number, number[]>();
  for (const [c, idx] of byLabel) wish.set(c, ratios.map((r) => (idx.length * r) / rsum));
  const has = new Map<number, boolean[]>();
  for (const c of byLabel.keys()) has.set(c, new Array<boolean>(P).fill(false));

  const assign = (i: number, p: number): void => {
    partOf[i] = p;
    room[p]--;
    for (const c of new Set(pool[i].classes)) {
      wish.get(c)![p]--;
      has.get(c)![p] = true;
    }
  };

  const labels = [...byLabel.keys()].sort((a, b) => byLabel.get(a)!.length - byLabel.get(b)!.length || a - b);

  // 1. Coverage.
  const distinct = pool.map((it) => new Set(it.classes).size);
  const unplaced: UnplacedClass[] = [];
  for (const c of labels) {
    for (let p = 0; p < P; p++) {
      if (has.get(c)![p] || ratios[p] === 0) continue;
      const free = byLabel.get(c)!.filter((i) => partOf[i] === -1);
      if (free.length === 0 || room[p] === 0) {
        unplaced.push({ classId: c, part: names[p], images: byLabel.get(c)!.length });
        continue;
      }
      // Prefer the image with the fewest classes, so coverage moves as few other labels as possible.
      assign(free.reduce((a, b) => (distinct[b] < distinct[a] ? b : a)), p);
    }
  }

  // 2. Iterative stratification for the rest.
  const bestPart = (c: number | undefined): number => {
    let best = -1;
    let ties: number[] = [];
    for (let p = 0; p < P; p++) {
      if (room[p] <= 0) continue;
      if (best === -1) {
        best = p;
        ties = [p];
        continue;
      }
      const d = c === undefined ? 0 : wish.get(c)![p] - wish.get(c)![best];
      const r = room[p] - room[best];
      if (d > 1e-9 || (Math.abs(d) <= 1e-9 && r > 0)) {
        best = p;
        ties = [p];
      } else if (Math.abs(d) <= 1e-9 && r === 0) ties.push(p);
    }
    return ties.length > 1 ? ties[Math.floor(rand() * ties.length)] : best;
  };
  const remaining = new Map<number, number>();
  for (const c of labels) remaining.set(c, byLabel.get(c)!.filter((i) => partOf[i] === -1).length);
  for (;;) {
    let label: number | undefined;
    for (const c of labels) {
      const n = remaining.get(c)!;
      if (n > 0 && (label === undefined || n < remaining.get(label)!)) label = c;
    }
    if (label === undefined) break;
    for (const i of byLabel.get(label)!) {
      if (partOf[i] !== -1) continue;
      assign(i, bestPart(label));
      for (const c of new Set(pool[i].classes)) remaining.set(c, remaining.get(c)! - 1);
    }
  }
  pool.forEach((_, i) => {
    if (partOf[i] === -1) assign(i, bestPart(undefined));
  });

  const parts: Record<string, SampleRef[]> = {};
  for (const n of names) parts[n] = [];
  pool.forEach((it, i) => parts[names[partOf[i]]].push(it.ref));
  for (const n of names) parts[n].sort(byId);
  const absent: number[] = [];
  for (let c = 0; c < (opts.numClasses ?? 0); c++) if (!byLabel.has(c)) absent.push(c);
  return { names, parts, unplaced, absent };
}

// ---------------------------------------------------------------------------------------------
// CSV: one row per sample, columns id,split,image,mask then any meta columns. Paths are written
// relative to the CSV's folder when they lie under it, so the folder can move as a whole.

function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Writes text to a temp file next to `path`, then renames it over `path`. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function relPath(p: string, base: string): string {
  const abs = resolve(p);
  const rel = relative(base, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) return abs;
  return rel.split(sep).join('/');
}

/** The CSV text of a split. */
export function splitToCsv(split: Split, baseDir: string): string {
  const metaKeys = [...new Set(names2refs(split).flatMap((r) => Object.keys(r.meta ?? {})))].filter(
    (k) => !['id', 'split', 'image', 'mask'].includes(k),
  );
  const lines = [['id', 'split', 'image', 'mask', ...metaKeys].join(',')];
  for (const name of split.names) {
    for (const r of split.parts[name]) {
      const cells = [r.id, name, relPath(r.imagePath, baseDir), r.maskPath ? relPath(r.maskPath, baseDir) : '', ...metaKeys.map((k) => r.meta?.[k] ?? '')];
      lines.push(cells.map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

function names2refs(split: Split): SampleRef[] {
  return split.names.flatMap((n) => split.parts[n]);
}

/** Writes a split as CSV, atomically. */
export function writeSplitCsv(path: string, split: Split): void {
  writeFileAtomic(path, splitToCsv(split, dirname(resolve(path))));
}

/** Reads a split CSV written by `writeSplitCsv` (or by hand: columns id, split, image[, mask]). */
export function readSplitCsv(path: string): Split {
  let rows: string[][];
  try {
    rows = parseDelimited(readFileSync(path, 'utf8'), ',');
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new Error(`${path}: empty split file; write it with "segkit split"`);
  const header = rows[0].map((h) => h.trim());
  const col = (name: string): number => header.indexOf(name);
  for (const need of ['split', 'image']) {
    if (col(need) < 0) throw new Error(`${path}: no "${need}" column in header "${header.join(',')}"; a split CSV needs id,split,image[,mask]`);
  }
  const base = dirname(resolve(path));
  const names: string[] = [];
  const parts: Record<string, SampleRef[]> = {};
  const fixed = new Set(['id', 'split', 'image', 'mask']);
  rows.slice(1).forEach((row, n) => {
    const get = (name: string): string => (col(name) >= 0 ? (row[col(name)] ?? '') : '');
    const part = get('split');
    const image = get('image');
    if (!part || !image) throw new Error(`${path}:${n + 2}: row has no split or image value; every row needs both`);
    const imagePath = isAbsolute(image) ? image : join(base, image);
    const mask = get('mask');
    const ref: SampleRef = { id: get('id') || basename(image).replace(/\.[^.]+$/, ''), imagePath };
    if (mask) ref.maskPath = isAbsolute(mask) ? mask : join(base, mask);
    const meta: Record<string, string> = {};
    header.forEach((h, k) => {
      if (!fixed.has(h) && row[k] !== undefined && row[k] !== '') meta[h] = row[k];
    });
    if (Object.keys(meta).length > 0) ref.meta = meta;
    if (!parts[part]) {
      parts[part] = [];
      names.push(part);
    }
    parts[part].push(ref);
  });
  checkUniqueIds(names.flatMap((n) => parts[n]));
  return { names, parts };
}

/** One line per part: "train 70 (70.0%)". */
export function describeSplit(split: Split): string {
  const total = split.names.reduce((a, n) => a + split.parts[n].length, 0);
  return split.names
    .map((n) => `${n.padEnd(8)} ${String(split.parts[n].length).padStart(7)} (${((100 * split.parts[n].length) / Math.max(total, 1)).toFixed(1)}%)`)
    .join('\n');
}

/**
 * The parts of a split as specs of the dataset they were cut from, matched by sample id (so the
 * dataset's label map and policies carry over): `new SegDataset(applySplit(spec, split).train)`.
 * Ids of the split that the dataset lacks are an error; dataset samples in no part are left out.
 */
export function applySplit<S extends { refs: SampleRef[] }>(spec: S, split: Split): Record<string, S> {
  const byId = new Map(spec.refs.map((r) => [r.id, r]));
  const out: Record<string, S> = {};
  for (const name of split.names) {
    const missing = split.parts[name].filter((r) => !byId.has(r.id)).map((r) => r.id);
    if (missing.length > 0) {
      throw new Error(`split part "${name}" names ${missing.length} sample(s) the dataset does not have, e.g. ${missing.slice(0, 3).join(', ')}; the split was made from another dataset or the files were renamed: re-run segkit split`);
    }
    out[name] = { ...spec, refs: split.parts[name].map((r) => byId.get(r.id)!) };
  }
  return out;
}
