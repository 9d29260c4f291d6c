// Windowed resize on typed arrays: bilinear for images, nearest for label planes. This is the
// loader's hot path: flat loops, no per-pixel allocation, tables computed once per axis.
//
// The one primitive is "resize to outW x outH, then cut `win` out of the result", where the
// window may reach outside the resized image (that part gets the fill value), optionally
// mirrored left-right. Resize, crop, pad, zoom-out and a fused scale+crop+flip are all special
// cases, and a fused scale+crop only ever computes the pixels it keeps.
import type { ImageBuffer } from '../types.js';

/** A rectangle in the coordinates of the (virtually) resized image; may extend past its edges. */
export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Plane = Uint8Array | Uint16Array;

/**
 * Per-output-position taps along one axis. The taps of output o read the `taps` consecutive
 * source positions first[o], first[o] + 1, ... (always inside the image; unused taps weigh 0).
 */
interface Axis {
  taps: number;
  first: Int32Array; // (n,)
  weight: Float32Array; // (n, taps), each row sums to 1, all >= 0
  lo: number; // outputs [lo, hi) come from the image; the rest are fill
  hi: number;
  identity: boolean; // one tap of weight 1 at index = window position
  mirrored: boolean; // outputs reversed (a horizontal flip folded into the resize)
}

function validRange(outSize: number, start: number, n: number): [number, number] {
  const lo = Math.min(n, Math.max(0, -start));
  const hi = Math.max(lo, Math.min(n, outSize - start));
  return [lo, hi];
}

/** Store taps for output o covering source positions [xmin, xmin + ws.length), shifted to stay in range. */
function put(axis: Axis, o: number, xmin: number, ws: ArrayLike<number>, inSize: number): void {
  const T = axis.taps;
  const first = Math.max(0, Math.min(xmin, inSize - T));
  axis.first[o] = first;
  for (let k = 0; k < ws.length; k++) {
    const at = xmin + k - first;
    if (ws[k] !== 0) axis.weight[o * T + at] = axis.weight[o * T + at]! + ws[k]!;
  }
}

/**
 * Linear taps for one axis. Without antialias this is PyTorch's bilinear with
 * align_corners=False (source = (dst + 0.5) * in/out - 0.5, clamped at 0; float32 arithmetic
 * as in ATen). With antialias and a shrinking axis it is PIL's triangle filter widened by the
 * scale (what torchvision's antialias=True and PIL's BILINEAR do).
 */
function linearAxis(inSize: number, outSize: number, start: number, n: number, antialias: boolean): Axis {
  const [lo, hi] = validRange(outSize, start, n);
  if (inSize === outSize || inSize === 1) {
    const first = new Int32Array(n);
    for (let o = lo; o < hi; o++) first[o] = inSize === 1 ? 0 : start + o;
    return { taps: 1, first, weight: new Float32Array(n).fill(1), lo, hi, identity: inSize === outSize, mirrored: false };
  }
  if (antialias && outSize < inSize) {
    const scale = inSize / outSize;
    const support = scale; // triangle support 1, widened by the scale
    const span = (o: number): [number, number] => {
      const center = (start + o + 0.5) * scale;
      return [Math.max(Math.trunc(center - support + 0.5), 0), Math.min(Math.trunc(center + support + 0.5), inSize)];
    };
    let taps = 1;
    for (let o = lo; o < hi; o++) {
      const [a, b] = span(o);
      taps = Math.max(taps, b - a);
    }
    const axis: Axis = { taps, first: new Int32Array(n), weight: new Float32Array(n * taps), lo, hi, identity: false, mirrored: false };
    const ws = new Float64Array(taps);
    for (let o = lo; o < hi; o++) {
      const center = (start + o + 0.5) * scale;
      const [xmin, xmax] = span(o);
      const count = xmax - xmin;
      let total = 0;
      for (let k = 0; k < count; k++) {
        ws[k] = Math.max(0, 1 - Math.abs((xmin + k - center + 0.5) / scale));
        total += ws[k]!;
      }
      for (let k = 0; k < count; k++) ws[k] = total > 0 ? ws[k]! / total : 0;
      put(axis, o, xmin, ws.subarray(0, count), inSize);
    }
    return axis;
  }
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const axis: Axis = { taps: 2, first: new Int32Array(n), weight: new Float32Array(n * 2), lo, hi, identity: false, mirrored: false };
  const ws = [0, 0];
  for (let o = lo; o < hi; o++) {
    let src = f(f(scale * f(start + o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const x0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = x0 < inSize - 1 ? f(src - x0) : 0;
    ws[0] = f(1 - l1);
    ws[1] = l1;
    put(axis, o, x0, ws, inSize);
  }
  return axis;
}

/** The same taps with the outputs in reverse order: output o gets what n-1-o had. */
function mirror(a: Axis, n: number): Axis {
  const T = a.taps;
  const first = new Int32Array(n);
  const weight = new Float32Array(n * T);
  for (let o = 0; o < n; o++) {
    const m = n - 1 - o;
    first[o] = a.first[m]!;
    for (let k = 0; k < T; k++) weight[o * T + k] = a.weight[m * T + k]!;
  }
  return { taps: T, first, weight, lo: n - a.hi, hi: n - a.lo, identity: false, mirrored: true };
}

/** Nearest source index per output position, pixel-centre aligned (PIL NEAREST, torch 'nearest-exact'). */
function nearestAxis(inSize: number, outSize: number, start: number, n: number, mirrored = false): { index: Int32Array; lo: number; hi: number; contiguous: boolean } {
  const [lo, hi] = validRange(outSize, start, n);
  const index = new Int32Array(n);
  const scale = inSize / outSize;
  for (let o = lo; o < hi; o++) index[mirrored ? n - 1 - o : o] = Math.min(Math.floor((start + o + 0.5) * scale), inSize - 1);
  return mirrored ? { index, lo: n - hi, hi: n - lo, contiguous: false } : { index, lo, hi, contiguous: inSize === outSize };
}

// Scratch rows for the first pass, reused between calls (workers resize one image at a time).
let scratch = new Float32Array(0);
function scratchFloats(n: number): Float32Array {
  if (n > 1 << 24) return new Float32Array(n); // do not keep more than 64 MB around
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch;
}

function fillPixels(out: Uint8Array, from: number, to: number, fill: ArrayLike<number>, channels: number): void {
  // from/to are pixel offsets
  if (from >= to) return;
  if (channels === 1 || allSame(fill, channels)) {
    out.fill(fill[0] ?? 0, from * channels, to * channels);
    return;
  }
  for (let p = from; p < to; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = fill[c] ?? 0;
}

function allSame(fill: ArrayLike<number>, channels: number): boolean {
  for (let c = 1; c < channels; c++) if ((fill[c] ?? 0) !== (fill[0] ?? 0)) return false;
  return true;
}

/** Per-channel uint8 fill values from a number or list (clamped, rounded). */
export function fillValues(fill: number | readonly number[] | undefined, channels: number): number[] {
  const list = fill === undefined ? [0] : typeof fill === 'number' ? [fill] : [...fill];
  if (list.length !== 1 && list.length < channels) {
    throw new Error(`fill value [${list.join(', ')}] has ${list.length} entries but the image has ${channels} channels; give one number or one per channel`);
  }
  const out: number[] = [];
  for (let c = 0; c < channels; c++) out.push(Math.min(255, Math.max(0, Math.round(list.length === 1 ? list[0]! : list[c]!))));
  return out;
}

interface Passes {
  hx: Axis;
  vy: Axis;
  tmp: Float32Array; // (rows rMin.., W * C) horizontally filtered source rows
  rMin: number;
}

function axes(img: ImageBuffer, outW: number, outH: number, win: Window, antialias: boolean, flipX: boolean): { hx: Axis; vy: Axis } {
  const hx0 = linearAxis(img.width, outW, win.x, win.width, antialias);
  return { hx: flipX ? mirror(hx0, win.width) : hx0, vy: linearAxis(img.height, outH, win.y, win.height, antialias) };
}

/** Pass 1: horizontal taps over the source rows the vertical taps need -> float rows of the window's width. */
function horizontalPass(img: ImageBuffer, hx: Axis, vy: Axis, W: number): Passes {
  const C = img.channels;
  const inW = img.width;
  const src = img.data;
  const rowLen = W * C;
  // Source rows the vertical taps touch (first[] never decreases).
  const rMin = vy.first[vy.lo]!;
  const rMax = vy.first[vy.hi - 1]! + vy.taps - 1;
  const nRows = rMax - rMin + 1;
  const tmp = scratchFloats(nRows * rowLen);
  const T = hx.taps;
  const hF = hx.first;
  const hW = hx.weight;
  const rowIn = inW * C;
  for (let r = 0; r < nRows; r++) {
    const sRow = (rMin + r) * rowIn;
    const tRow = r * rowLen;
    if (T === 1 && !hx.mirrored) {
      const s = sRow + hF[hx.lo]! * C;
      for (let i = 0, n = (hx.hi - hx.lo) * C; i < n; i++) tmp[tRow + hx.lo * C + i] = src[s + i]!;
    } else if (T === 1) {
      for (let o = hx.lo; o < hx.hi; o++) {
        const a = sRow + hF[o]! * C;
        for (let c = 0; c < C; c++) tmp[tRow + o * C + c] = src[a + c]!;
      }
    } else if (C === 3 && T === 2) {
      for (let o = hx.lo; o < hx.hi; o++) {
        const a = sRow + hF[o]! * 3;
        const w0 = hW[2 * o]!;
        const w1 = hW[2 * o + 1]!;
        const t = tRow + o * 3;
        tmp[t] = w0 * src[a]! + w1 * src[a + 3]!;
        tmp[t + 1] = w0 * src[a + 1]! + w1 * src[a + 4]!;
        tmp[t + 2] = w0 * src[a + 2]! + w1 * src[a + 5]!;
      }
    } else if (C === 3) {
      for (let o = hx.lo; o < hx.hi; o++) {
        let p = sRow + hF[o]! * 3;
        let r0 = 0;
        let g0 = 0;
        let b0 = 0;
        for (let k = o * T, e = k + T; k < e; k++, p += 3) {
          const w = hW[k]!;
          r0 += w * src[p]!;
          g0 += w * src[p + 1]!;
          b0 += w * src[p + 2]!;
        }
        const t = tRow + o * 3;
        tmp[t] = r0;
        tmp[t + 1] = g0;
        tmp[t + 2] = b0;
      }
    } else {
      for (let o = hx.lo; o < hx.hi; o++) {
        const t = tRow + o * C;
        const p0 = sRow + hF[o]! * C;
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let k = 0; k < T; k++) acc += hW[o * T + k]! * src[p0 + k * C + c]!;
          tmp[t + c] = acc;
        }
      }
    }
  }

  return { hx, vy, tmp, rMin };
}

/**
 * Bilinear resize of `img` to outW x outH, keeping only `win` (pixels of the window outside the
 * resized image take `fill`); `flipX` mirrors the result left-right at no extra cost.
 */
export function resampleImage(
  img: ImageBuffer,
  outW: number,
  outH: number,
  win: Window,
  fill: ArrayLike<number>,
  antialias = false,
  flipX = false,
): ImageBuffer {
  const C = img.channels;
  const inW = img.width;
  const src = img.data;
  const W = win.width;
  const H = win.height;
  const out = new Uint8Array(W * H * C);
  const { hx, vy } = axes(img, outW, outH, win, antialias, flipX);
  const rowLen = W * C;

  // Rows above and below the image, then the left/right margins of the rows in between.
  fillPixels(out, 0, vy.lo * W, fill, C);
  fillPixels(out, vy.hi * W, H * W, fill, C);
  for (let y = vy.lo; y < vy.hi; y++) {
    fillPixels(out, y * W, y * W + hx.lo, fill, C);
    fillPixels(out, y * W + hx.hi, (y + 1) * W, fill, C);
  }
  if (hx.lo >= hx.hi || vy.lo >= vy.hi) return { data: out, width: W, height: H, channels: C };

  if (hx.identity && vy.identity) {
    // Pure crop / pad: copy row segments.
    const n = (hx.hi - hx.lo) * C;
    for (let y = vy.lo; y < vy.hi; y++) {
      const s = (vy.first[y]! * inW + hx.first[hx.lo]!) * C;
      out.set(src.subarray(s, s + n), (y * W + hx.lo) * C);
    }
    return { data: out, width: W, height: H, channels: C };
  }

  const { tmp, rMin } = horizontalPass(img, hx, vy, W);
  // Pass 2: vertical taps over whole rows. Weights are >= 0 and sum to 1, so sums stay within
  // [0, 255] up to float error, and `+ 0.5` then the uint8 store's truncation rounds them
  // (half up; torch rounds half to even, which differs only on exact ties).
  const V = vy.taps;
  const c0 = hx.lo * C;
  const c1 = hx.hi * C;
  const acc = V > 3 ? new Float32Array(rowLen) : undefined;
  for (let y = vy.lo; y < vy.hi; y++) {
    const o = y * rowLen;
    const base = (vy.first[y]! - rMin) * rowLen;
    if (V === 1) {
      for (let i = c0; i < c1; i++) out[o + i] = tmp[base + i]! + 0.5;
    } else if (V === 2) {
      const w0 = vy.weight[2 * y]!;
      const w1 = vy.weight[2 * y + 1]!;
      const b = base + rowLen;
      for (let i = c0; i < c1; i++) out[o + i] = w0 * tmp[base + i]! + w1 * tmp[b + i]! + 0.5;
    } else if (V === 3) {
      const w0 = vy.weight[3 * y]!;
      const w1 = vy.weight[3 * y + 1]!;
      const w2 = vy.weight[3 * y + 2]!;
      const b = base + rowLen;
      const c = b + rowLen;
      for (let i = c0; i < c1; i++) out[o + i] = w0 * tmp[base + i]! + w1 * tmp[b + i]! + w2 * tmp[c + i]! + 0.5;
    } else {
      acc!.fill(0);
      for (let k = 0; k < V; k++) {
        const w = vy.weight[y * V + k]!;
        if (w === 0) continue;
        const t = base + k * rowLen;
        for (let i = c0; i < c1; i++) acc![i] = acc![i]! + w * tmp[t + i]!;
      }
      for (let i = c0; i < c1; i++) out[o + i] = acc![i]! + 0.5;
    }
  }
  return { data: out, width: W, height: H, channels: C };
}

/**
 * resampleImage written straight out as (C, H, W) floats through per-channel tables (see
 * normalize.ts) at out[offset..]: the uint8 image is never stored. The image must have as many
 * channels as there are tables.
 */
export function resampleImageInto(
  img: ImageBuffer,
  outW: number,
  outH: number,
  win: Window,
  fill: ArrayLike<number>,
  antialias: boolean,
  flipX: boolean,
  tables: Float32Array[],
  out: Float32Array,
  offset: number,
): void {
  const C = img.channels;
  if (tables.length !== C) throw new Error(`resampleImageInto: ${tables.length} tables for a ${C}-channel image`);
  const W = win.width;
  const H = win.height;
  const plane = W * H;
  const { hx, vy } = axes(img, outW, outH, win, antialias, flipX);
  const fillRows = (y0: number, y1: number, x0: number, x1: number) => {
    if (y0 >= y1 || x0 >= x1) return;
    for (let c = 0; c < C; c++) {
      const v = tables[c]![fill[c] ?? 0]!;
      for (let y = y0; y < y1; y++) out.fill(v, offset + c * plane + y * W + x0, offset + c * plane + y * W + x1);
    }
  };
  fillRows(0, vy.lo, 0, W);
  fillRows(vy.hi, H, 0, W);
  fillRows(vy.lo, vy.hi, 0, hx.lo);
  fillRows(vy.lo, vy.hi, hx.hi, W);
  if (hx.lo >= hx.hi || vy.lo >= vy.hi) return;

  const { tmp, rMin } = horizontalPass(img, hx, vy, W);
  const rowLen = W * C;
  const V = vy.taps;
  const acc = V > 3 ? new Float32Array(rowLen) : undefined;
  const x0 = hx.lo;
  const x1 = hx.hi;
  for (let y = vy.lo; y < vy.hi; y++) {
    // Vertical taps computed exactly as resampleImage's pass 2 (same rounding), then each
    // rounded value is looked up in its channel's table and stored in that channel's plane.
    const a = (vy.first[y]! - rMin) * rowLen;
    const b = a + rowLen;
    const c2 = b + rowLen;
    const w0 = vy.weight[V * y]!;
    const w1 = V > 1 ? vy.weight[V * y + 1]! : 0;
    const w2 = V > 2 ? vy.weight[V * y + 2]! : 0;
    let src = tmp;
    let base = a;
    if (acc) {
      acc.fill(0);
      for (let k = 0; k < V; k++) {
        const w = vy.weight[y * V + k]!;
        if (w === 0) continue;
        const t = a + k * rowLen;
        for (let i = x0 * C; i < x1 * C; i++) acc[i] = acc[i]! + w * tmp[t + i]!;
      }
      src = acc;
      base = 0;
    }
    if (C === 3 && V === 2 && !acc) {
      const t0 = tables[0]!;
      const t1 = tables[1]!;
      const t2 = tables[2]!;
      const o0 = offset + y * W;
      const o1 = o0 + plane;
      const o2 = o1 + plane;
      for (let x = x0, i = x0 * 3; x < x1; x++, i += 3) {
        out[o0 + x] = t0[(w0 * tmp[a + i]! + w1 * tmp[b + i]! + 0.5) | 0]!;
        out[o1 + x] = t1[(w0 * tmp[a + i + 1]! + w1 * tmp[b + i + 1]! + 0.5) | 0]!;
        out[o2 + x] = t2[(w0 * tmp[a + i + 2]! + w1 * tmp[b + i + 2]! + 0.5) | 0]!;
      }
      continue;
    }
    for (let c = 0; c < C; c++) {
      const t = tables[c]!;
      const o = offset + c * plane + y * W;
      if (acc || V === 1) {
        for (let x = x0, i = base + x0 * C + c; x < x1; x++, i += C) out[o + x] = t[(src[i]! + 0.5) | 0]!;
      } else if (V === 2) {
        for (let x = x0, i = x0 * C + c; x < x1; x++, i += C) out[o + x] = t[(w0 * tmp[a + i]! + w1 * tmp[b + i]! + 0.5) | 0]!;
      } else {
        for (let x = x0, i = x0 * C + c; x < x1; x++, i += C) out[o + x] = t[(w0 * tmp[a + i]! + w1 * tmp[b + i]! + w2 * tmp[c2 + i]! + 0.5) | 0]!;
      }
    }
  }
}

/** Nearest-neighbour version of resampleImage for single-channel planes (masks, instance masks). */
export function resamplePlane<T extends Plane>(
  data: T,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  win: Window,
  fill: number,
  flipX = false,
): T {
  const out = newLike(data, win.width * win.height, fill) as T;
  resamplePlaneInto(data, inW, inH, outW, outH, win, fill, flipX, out, 0);
  return out;
}

/** resamplePlane written into out[offset..] (any integer array, e.g. a batch's Int32Array). */
export function resamplePlaneInto(
  data: Plane,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  win: Window,
  fill: number,
  flipX: boolean,
  out: Uint8Array | Uint16Array | Int32Array,
  offset: number,
): void {
  const W = win.width;
  const H = win.height;
  const hx = nearestAxis(inW, outW, win.x, W, flipX);
  const vy = nearestAxis(inH, outH, win.y, H);
  out.fill(fill, offset, offset + W * H);
  if (hx.lo >= hx.hi || vy.lo >= vy.hi) return;
  const xi = hx.index;
  for (let y = vy.lo; y < vy.hi; y++) {
    const s = vy.index[y]! * inW;
    const o = offset + y * W;
    if (y > vy.lo && vy.index[y] === vy.index[y - 1]) {
      out.copyWithin(o + hx.lo, o - W + hx.lo, o - W + hx.hi); // upscaling repeats source rows
    } else if (hx.contiguous) {
      const a = s + xi[hx.lo]!;
      out.set(data.subarray(a, a + hx.hi - hx.lo), o + hx.lo);
    } else {
      for (let x = hx.lo; x < hx.hi; x++) out[o + x] = data[s + xi[x]!]!;
    }
  }
}

/** A plane like `data` with n values; 16-bit when the fill value does not fit in 8 bits. */
export function newLike(data: Plane, n: number, fill = 0): Plane {
  return data instanceof Uint16Array || fill > 255 ? new Uint16Array(n) : new Uint8Array(n);
}
