// Flips, exact quarter turns and free rotation on typed arrays (images interleaved HWC, label
// planes single-channel). Rotation follows torchvision: counter-clockwise degrees about the
// centre, pixel centres at i + 0.5; images bilinear, planes nearest.
import type { ImageBuffer } from '../types.js';
import { newLike, type Plane } from './resample.js';

/** Mirror an interleaved (H, W, C) array left-right or top-bottom. */
export function flipInterleaved<T extends Uint8Array | Uint16Array>(data: T, width: number, height: number, channels: number, horizontal: boolean): T {
  const out = (data instanceof Uint16Array ? new Uint16Array(data.length) : new Uint8Array(data.length)) as T;
  const rowLen = width * channels;
  if (!horizontal) {
    for (let y = 0; y < height; y++) out.set(data.subarray(y * rowLen, (y + 1) * rowLen), (height - 1 - y) * rowLen);
    return out;
  }
  for (let y = 0; y < height; y++) {
    const r = y * rowLen;
    if (channels === 1) {
      for (let x = 0, m = r + width - 1; x < width; x++) out[r + x] = data[m - x]!;
    } else if (channels === 3) {
      for (let x = 0; x < width; x++) {
        const d = r + x * 3;
        const s = r + (width - 1 - x) * 3;
        out[d] = data[s]!;
        out[d + 1] = data[s + 1]!;
        out[d + 2] = data[s + 2]!;
      }
    } else {
      for (let x = 0; x < width; x++) {
        const d = r + x * channels;
        const s = r + (width - 1 - x) * channels;
        for (let c = 0; c < channels; c++) out[d + c] = data[s + c]!;
      }
    }
  }
  return out;
}

/**
 * Exact rotation by k quarter turns counter-clockwise (k in 0..3) of an interleaved array.
 * Returns the data and the new width/height (swapped for odd k).
 */
export function rot90Interleaved<T extends Uint8Array | Uint16Array>(
  data: T,
  width: number,
  height: number,
  channels: number,
  k: number,
): { data: T; width: number; height: number } {
  k = ((k % 4) + 4) % 4;
  const out = (data instanceof Uint16Array ? new Uint16Array(data.length) : new Uint8Array(data.length)) as T;
  const C = channels;
  if (k === 0) {
    out.set(data);
    return { data: out, width, height };
  }
  if (k === 2) {
    const n = width * height;
    for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) out[(n - 1 - p) * C + c] = data[p * C + c]!;
    return { data: out, width, height };
  }
  // Output is height wide and width tall.
  const oW = height;
  const oH = width;
  for (let yo = 0; yo < oH; yo++) {
    for (let xo = 0; xo < oW; xo++) {
      // ccw: out(xo, yo) = in(W-1-yo, xo); cw (k=3): out(xo, yo) = in(yo, H-1-xo)
      const xi = k === 1 ? width - 1 - yo : yo;
      const yi = k === 1 ? xo : height - 1 - xo;
      const s = (yi * width + xi) * C;
      const d = (yo * oW + xo) * C;
      for (let c = 0; c < C; c++) out[d + c] = data[s + c]!;
    }
  }
  return { data: out, width: oW, height: oH };
}

/**
 * Inverse map of a rotation by `degrees` counter-clockwise about the image centre, in
 * torchvision's convention (pixel centres at i + 0.5, output centre at (outW/2, outH/2)).
 * Returns source index coordinates for output index (x, y): sx = a*x + b*y + c, sy = d*x + e*y + f.
 */
export function rotationInverse(degrees: number, inW: number, inH: number, outW: number, outH: number): [number, number, number, number, number, number] {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // output offset from centre: X = x + 0.5 - outW/2; source index = cos*X - sin*Y + inW/2 - 0.5
  const ox = 0.5 - outW / 2;
  const oy = 0.5 - outH / 2;
  return [cos, -sin, cos * ox - sin * oy + inW / 2 - 0.5, sin, cos, sin * ox + cos * oy + inH / 2 - 0.5];
}

/** torchvision's output size of an expanded rotation (PIL's rule, with its 1e-4 truncation). */
export function expandedSize(degrees: number, w: number, h: number): [number, number] {
  const t = (degrees * Math.PI) / 180;
  const c = Math.abs(Math.cos(t));
  const s = Math.abs(Math.sin(t));
  const hw = (w * c + h * s) / 2;
  const hh = (w * s + h * c) / 2;
  const tol = 1e-4;
  const tr = (v: number) => Math.trunc(v / tol) * tol;
  const ow = Math.ceil(tr(hw + w / 2)) - Math.floor(tr(-hw + w / 2));
  const oh = Math.ceil(tr(hh + h / 2)) - Math.floor(tr(-hh + h / 2));
  return [ow, oh];
}

/** Bilinear rotation of an image; source pixels outside the image count as `fill`. */
export function rotateImage(img: ImageBuffer, degrees: number, outW: number, outH: number, fill: ArrayLike<number>): ImageBuffer {
  const C = img.channels;
  const W = img.width;
  const H = img.height;
  const src = img.data;
  const out = new Uint8ClampedArray(outW * outH * C);
  const [a, b, c, d, e, f] = rotationInverse(degrees, W, H, outW, outH);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = a * x + b * y + c;
      const sy = d * x + e * y + f;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * outW + x) * C;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const p00 = (y0 * W + x0) * C;
        const p10 = p00 + C;
        const p01 = p00 + W * C;
        const p11 = p01 + C;
        for (let ch = 0; ch < C; ch++) {
          const top = src[p00 + ch]! + fx * (src[p10 + ch]! - src[p00 + ch]!);
          const bot = src[p01 + ch]! + fx * (src[p11 + ch]! - src[p01 + ch]!);
          out[o + ch] = top + fy * (bot - top);
        }
      } else if (x0 >= -1 && y0 >= -1 && x0 < W && y0 < H) {
        // Border: neighbours outside the image take the fill value.
        for (let ch = 0; ch < C; ch++) {
          const v = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < W && yy < H ? src[(yy * W + xx) * C + ch]! : fill[ch]!);
          const top = v(x0, y0) + fx * (v(x0 + 1, y0) - v(x0, y0));
          const bot = v(x0, y0 + 1) + fx * (v(x0 + 1, y0 + 1) - v(x0, y0 + 1));
          out[o + ch] = top + fy * (bot - top);
        }
      } else {
        for (let ch = 0; ch < C; ch++) out[o + ch] = fill[ch]!;
      }
    }
  }
  return { data: new Uint8Array(out.buffer), width: outW, height: outH, channels: C };
}

/** Nearest-neighbour rotation of a plane (round half to even, as grid_sample's nearest). */
export function rotatePlane<T extends Plane>(data: T, W: number, H: number, degrees: number, outW: number, outH: number, fill: number): T {
  const out = newLike(data, outW * outH, fill) as T;
  const [a, b, c, d, e, f] = rotationInverse(degrees, W, H, outW, outH);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = roundHalfEven(a * x + b * y + c);
      const sy = roundHalfEven(d * x + e * y + f);
      out[y * outW + x] = sx >= 0 && sy >= 0 && sx < W && sy < H ? data[sy * W + sx]! : fill;
    }
  }
  return out;
}

export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}
