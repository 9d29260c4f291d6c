// uint8 HWC -> float32 CHW, (x / 255 - mean) / std per channel, as torchvision's ToTensor +
// Normalize compute it in float32 (so results match bit for bit). One 256-entry table per channel.
import type { ImageBuffer } from '../types.js';

export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** mean/std in 0..1 units, one entry per output channel. */
export interface NormalizeParams {
  mean: readonly number[];
  std: readonly number[];
}

/** A float image in (C, H, W) layout. */
export interface FloatImage {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

const f32 = Math.fround;

/** Per-channel tables: value v -> (f32(v / 255) - mean) / std in float32. */
export function normalizeTables(params: NormalizeParams): Float32Array[] {
  const { mean, std } = params;
  if (mean.length !== std.length || mean.length === 0) {
    throw new Error(`normalize: mean has ${mean.length} entries and std ${std.length}; give one per channel, e.g. ImageNet's [0.485, 0.456, 0.406] / [0.229, 0.224, 0.225]`);
  }
  return mean.map((m, c) => {
    const s = std[c]!;
    if (!(s > 0)) throw new Error(`normalize: std[${c}] must be > 0, got ${s}`);
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = f32(f32(f32(v / 255) - f32(m)) / f32(s));
    return t;
  });
}

/** Scaling only (ToTensor): v / 255. */
export function unitTables(channels: number): Float32Array[] {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = f32(v / 255);
  return Array.from({ length: channels }, () => t);
}

/**
 * Write the image as (C, H, W) floats into `out` at `offset` through per-channel tables. A
 * greyscale image feeds every output channel; a 4th (alpha) channel is dropped when the tables
 * ask for 3. Other channel mismatches are an error.
 */
export function normalizeInto(img: ImageBuffer, tables: Float32Array[], out: Float32Array, offset: number): void {
  const C = tables.length;
  const S = img.channels;
  if (!(S === C || (S === 1 && C >= 1) || (S === 4 && C === 3))) {
    throw new Error(`normalize: the image has ${S} channels but mean/std have ${C}; give ${S} mean/std values`);
  }
  const n = img.width * img.height;
  if (out.length < offset + C * n) throw new Error(`normalize: output holds ${out.length} floats, need ${offset + C * n}`);
  const src = img.data;
  if (S === 3 && C === 3) {
    // One pass over the interleaved source, three planes out.
    const t0 = tables[0]!;
    const t1 = tables[1]!;
    const t2 = tables[2]!;
    const o1 = offset + n;
    const o2 = offset + 2 * n;
    for (let p = 0, s = 0; p < n; p++, s += 3) {
      out[offset + p] = t0[src[s]!]!;
      out[o1 + p] = t1[src[s + 1]!]!;
      out[o2 + p] = t2[src[s + 2]!]!;
    }
    return;
  }
  for (let c = 0; c < C; c++) {
    const t = tables[c]!;
    const o = offset + c * n;
    const sc = S === 1 ? 0 : c;
    if (S === 1) {
      for (let p = 0; p < n; p++) out[o + p] = t[src[p]!]!;
    } else if (S === 3) {
      for (let p = 0, s = sc; p < n; p++, s += 3) out[o + p] = t[src[s]!]!;
    } else {
      for (let p = 0, s = sc; p < n; p++, s += S) out[o + p] = t[src[s]!]!;
    }
  }
}

export function normalizeImage(img: ImageBuffer, params: NormalizeParams): FloatImage {
  const tables = normalizeTables(params);
  const data = new Float32Array(tables.length * img.width * img.height);
  normalizeInto(img, tables, data, 0);
  return { data, channels: tables.length, height: img.height, width: img.width };
}
