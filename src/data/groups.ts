// Groups of samples that must stay in one split part: frames of one recording session or
// video sequence, or whatever a name pattern says. A random split of video frames puts
// near-identical neighbours in train and test and makes test scores meaningless; the grouped
// split keeps each group whole, and the doctor reports groups (and near-identical images) that
// a split has cut apart.
import { basename } from 'node:path';
import { DEFAULT_TIMESTAMP_REGEX, mulberry32, partNames, partSizes, shuffleInPlace, type Split } from './splits.js';
import type { ImageBuffer, SampleRef } from './types.js';

/** How samples are grouped: by session folder, by sequence (the name without its trailing
 *  frame number), or by a regex whose first capture group is the group key. */
export type GroupBy = 'session' | 'sequence' | RegExp;

const stemOf = (ref: SampleRef): string => basename(ref.imagePath).replace(/\.[^.]+$/, '');

/** The group key of a sample, or undefined when `by` gives it none. */
export function groupKeyOf(ref: SampleRef, by: GroupBy): string | undefined {
  if (by === 'session') return ref.meta?.session ?? (ref.id.includes('/') ? ref.id.slice(0, ref.id.indexOf('/')) : undefined);
  if (by === 'sequence') {
    // "0001TP_006690" → "0001TP", "seq05_f00120" → "seq05_f", "frame-12" → "frame".
    const m = /^(.*?)[_\-. ]?\d+$/.exec(stemOf(ref));
    const dir = ref.meta?.session ? `${ref.meta.session}/` : '';
    return m && m[1] ? dir + m[1] : undefined;
  }
  const m = by.exec(ref.id) ?? by.exec(stemOf(ref));
  return m ? (m[1] ?? m[0]) : undefined;
}

/** Samples by group key (samples without a key are each their own group). */
export function groupRefs(refs: SampleRef[], by: GroupBy | ((ref: SampleRef) => string | undefined)): Map<string, SampleRef[]> {
  const keyOf = typeof by === 'function' ? by : (r: SampleRef) => groupKeyOf(r, by);
  const groups = new Map<string, SampleRef[]>();
  for (const r of refs) {
    const k = keyOf(r) ?? `\u0000${r.id}`;
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/** Whether a grouping says something: 2+ groups, one of them with 2+ samples, none holding nearly all. */
export function meaningfulGroups(groups: Map<string, SampleRef[]>, total: number): boolean {
  const sizes = [...groups.values()].map((g) => g.length);
  return sizes.length >= 2 && sizes.some((n) => n >= 2) && Math.max(...sizes) < 0.9 * total;
}

export interface GroupedSplitOptions {
  by: GroupBy;
  seed?: number;
  names?: string[];
}

/**
 * Split by ratio with every group in one part. Groups are shuffled (seeded; sorted by key first,
 * so the listing order does not matter), then each goes to the part furthest below its size (in samples),
 * so part sizes are as close to the ratios as whole groups allow.
 */
export function groupedSplit(refs: SampleRef[], ratios: number[], opts: GroupedSplitOptions): Split {
  const names = partNames(ratios.length, opts.names);
  const groups = groupRefs(refs, opts.by);
  const keys = shuffleInPlace([...groups.keys()].sort(), mulberry32(opts.seed ?? 0));
  // Biggest groups first (stable for equal sizes), so the small ones fill the gaps.
  keys.sort((a, b) => groups.get(b)!.length - groups.get(a)!.length);
  const target = partSizes(refs.length, ratios);
  const parts: Record<string, SampleRef[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const k of keys) {
    let best = 0;
    for (let i = 1; i < names.length; i++) {
      const gap = (j: number) => target[j] - parts[names[j]].length;
      if (gap(i) > gap(best)) best = i;
    }
    parts[names[best]].push(...groups.get(k)!);
  }
  return { names, parts };
}

export interface SplitLeak {
  kind: 'session' | 'sequence' | 'near-duplicate' | 'timestamps';
  /** The group key (or the image hash). */
  key: string;
  /** Samples of the group per part. */
  parts: Record<string, string[]>;
}

/** A 64-bit average hash of the image (8x8 luma means vs their mean), as 16 hex digits. */
export function averageHash(img: ImageBuffer): string {
  const cells = new Float64Array(64);
  const counts = new Float64Array(64);
  const { data, width, height, channels } = img;
  for (let y = 0; y < height; y++) {
    const cy = Math.min(7, Math.floor((y * 8) / height));
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * channels;
      const l = channels >= 3 ? 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] : data[p];
      const c = cy * 8 + Math.min(7, Math.floor((x * 8) / width));
      cells[c] += l;
      counts[c]++;
    }
  }
  let mean = 0;
  for (let i = 0; i < 64; i++) mean += (cells[i] /= Math.max(counts[i], 1)) / 64;
  let hex = '';
  for (let i = 0; i < 64; i += 4) {
    let nib = 0;
    for (let j = 0; j < 4; j++) nib = (nib << 1) | (cells[i + j] > mean ? 1 : 0);
    hex += nib.toString(16);
  }
  return hex;
}

/**
 * Groups cut apart by a split: sessions and sequences (when the names form real groups) with
 * samples in two or more parts, and images with the same average hash in different parts.
 */
export function findSplitLeaks(split: Split, hashes?: Map<string, string>): SplitLeak[] {
  const partOf = new Map<string, string>();
  const refs: SampleRef[] = [];
  for (const n of split.names) for (const r of split.parts[n]) partOf.set(r.id, n), refs.push(r);
  const leaks: SplitLeak[] = [];
  const spread = (kind: SplitLeak['kind'], groups: Map<string, SampleRef[]>): void => {
    for (const [key, list] of groups) {
      if (key.startsWith('\u0000')) continue;
      const parts: Record<string, string[]> = {};
      for (const r of list) (parts[partOf.get(r.id)!] ??= []).push(r.id);
      if (Object.keys(parts).length > 1) leaks.push({ kind, key, parts });
    }
  };
  const sessions = groupRefs(refs, 'session');
  if (refs.some((r) => r.meta?.session) && meaningfulGroups(sessions, refs.length)) spread('session', sessions);
  const leakedSessions = new Set(leaks.map((l) => l.key));
  // Video frames: a name ending in a frame number of 4+ digits (CamVid's 0001TP_006690), so that
  // numbered photos (Oxford Pet's Abyssinian_12) are not taken for sequences.
  const sequences = groupRefs(refs, (r) => {
    const m = /^(.*?)[_\-. ]?\d{4,}$/.exec(stemOf(r));
    // A prefix of digits only is a year or a batch (VOC's 2007_000032), not a recording.
    return m && /[a-z]/i.test(m[1]) ? (r.meta?.session ? `${r.meta.session}/` : '') + m[1] : undefined;
  });
  // A sequence inside a session already reported adds nothing.
  for (const [k, list] of sequences) if (list.every((r) => r.meta?.session && leakedSessions.has(r.meta.session))) sequences.delete(k);
  if (meaningfulGroups(sequences, refs.length)) spread('sequence', sequences);
  const interleaved = timeNeighbours(refs.filter((r) => !r.meta?.session || !leakedSessions.has(r.meta.session)), partOf, split.names.length - 1);
  if (interleaved) leaks.push(interleaved);
  if (hashes) {
    const byHash = new Map<string, SampleRef[]>();
    for (const r of refs) {
      const h = hashes.get(r.id);
      if (h && !/^0+$|^f+$/.test(h)) (byHash.get(h) ?? byHash.set(h, []).get(h)!).push(r);
    }
    spread('near-duplicate', byHash);
  }
  return leaks;
}

/**
 * Timestamped frames (9+ digit times in the names) whose neighbour in time, at most twice the
 * typical frame gap away, sits in another part: consecutive frames of one recording on both
 * sides of the split. Frames are compared within their session when there are sessions.
 */
function timeNeighbours(refs: SampleRef[], partOf: Map<string, string>, cuts: number): SplitLeak | undefined {
  if (refs.length === 0) return undefined;
  const timed: Array<{ ref: SampleRef; t: number }> = [];
  for (const ref of refs) {
    const m = DEFAULT_TIMESTAMP_REGEX.exec(stemOf(ref));
    if (!m) return undefined; // only when every frame is timestamped
    const t = Number(m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]);
    // Unix times in s, ms, us or ns (2001..2036), not ids (COCO's 000000397133).
    if (![1e9, 1e12, 1e15, 1e18].some((u) => t >= u && t < 2.1 * u)) return undefined;
    timed.push({ ref, t });
  }
  const bySession = new Map<string, typeof timed>();
  for (const x of timed) (bySession.get(x.ref.meta?.session ?? '') ?? bySession.set(x.ref.meta?.session ?? '', []).get(x.ref.meta?.session ?? '')!).push(x);
  const parts: Record<string, string[]> = {};
  for (const list of bySession.values()) {
    list.sort((a, b) => a.t - b.t);
    const gaps = list.slice(1).map((x, i) => x.t - list[i].t).filter((g) => g > 0).sort((a, b) => a - b);
    if (gaps.length === 0) continue;
    const limit = 2 * gaps[gaps.length >> 1];
    const crossings: Array<[typeof list[number], typeof list[number]]> = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1], b = list[i];
      if (b.t - a.t <= limit && partOf.get(a.ref.id) !== partOf.get(b.ref.id)) crossings.push([a, b]);
    }
    // A cut in time (an ordered split) leaves one touching pair per boundary; more is interleaving.
    if (crossings.length <= cuts) continue;
    for (const pair of crossings) for (const x of pair) {
      const p = partOf.get(x.ref.id)!;
      if (!(parts[p] ??= []).includes(x.ref.id)) parts[p].push(x.ref.id);
    }
  }
  return Object.keys(parts).length > 1 ? { kind: 'timestamps', key: 'consecutive frames', parts } : undefined;
}
