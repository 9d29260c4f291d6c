// Photometric operations on uint8 HWC images. Masks and instances never change here.
//
// brightness / contrast / saturation / hue follow torchvision's tensor definitions
// (functional_tensor.py) including their float32 arithmetic and the truncating cast back to
// uint8, so results match torchvision on uint8 tensors to within one grey level (see
// test/fixtures/data/transforms/gen_transforms.py). Per-value work goes through 256-entry
// lookup tables; only hue needs real per-pixel maths.
import type { ImageBuffer } from '../types.js';

const f32 = Math.fround;

function withData(img: ImageBuffer, data: Uint8Array): ImageBuffer {
  return { data, width: img.width, height: img.height, channels: img.channels };
}

/** Apply a 256-entry table to the colour channels (alpha, if any, is copied). */
function applyLut(img: ImageBuffer, lut: Uint8Array): ImageBuffer {
  const src = img.data;
  const out = new Uint8Array(src.length);
  if (img.channels === 4) {
    for (let i = 0; i < src.length; i += 4) {
      out[i] = lut[src[i]!]!;
      out[i + 1] = lut[src[i + 1]!]!;
      out[i + 2] = lut[src[i + 2]!]!;
      out[i + 3] = src[i + 3]!;
    }
  } else {
    for (let i = 0; i < src.length; i++) out[i] = lut[src[i]!]!;
  }
  return withData(img, out);
}

/** torch's `.clamp(0, 255).to(uint8)`: clamp, then truncate toward zero. */
function clampTrunc(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
}

// rgb_to_grayscale on uint8: (0.2989 r + 0.587 g + 0.114 b) in float32, truncated to uint8.
const GRAY_R = new Float32Array(256);
const GRAY_G = new Float32Array(256);
const GRAY_B = new Float32Array(256);
for (let v = 0; v < 256; v++) {
  GRAY_R[v] = f32(f32(0.2989) * v);
  GRAY_G[v] = f32(f32(0.587) * v);
  GRAY_B[v] = f32(f32(0.114) * v);
}

function grayOf(src: Uint8Array, i: number): number {
  return Math.trunc(f32(f32(GRAY_R[src[i]!]! + GRAY_G[src[i + 1]!]!) + GRAY_B[src[i + 2]!]!));
}

function assertFactor(name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${name} factor must be a finite number >= 0, got ${v}`);
}

/** torchvision adjust_brightness: blend with black. */
export function adjustBrightness(img: ImageBuffer, factor: number): ImageBuffer {
  assertFactor('brightness', factor);
  const r = f32(factor);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clampTrunc(f32(r * v));
  return applyLut(img, lut);
}

/** torchvision adjust_contrast: blend with the mean of the (truncated) greyscale image. */
export function adjustContrast(img: ImageBuffer, factor: number): ImageBuffer {
  assertFactor('contrast', factor);
  const src = img.data;
  const C = img.channels;
  let sum = 0;
  if (C >= 3) for (let i = 0; i < src.length; i += C) sum += grayOf(src, i);
  else for (let i = 0; i < src.length; i++) sum += src[i]!;
  const n = img.width * img.height;
  const mean = f32(sum / n);
  const r = f32(factor);
  const rest = f32(f32(1 - factor) * mean);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clampTrunc(f32(f32(r * v) + rest));
  return applyLut(img, lut);
}

/** torchvision adjust_saturation: blend each pixel with its greyscale value. Greyscale images are returned as is. */
export function adjustSaturation(img: ImageBuffer, factor: number): ImageBuffer {
  assertFactor('saturation', factor);
  const C = img.channels;
  if (C < 3) return img;
  const a = new Float32Array(256);
  const b = new Float32Array(256);
  const r = f32(factor);
  const q = f32(1 - factor);
  for (let v = 0; v < 256; v++) {
    a[v] = f32(r * v);
    b[v] = f32(q * v);
  }
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += C) {
    const g = b[grayOf(src, i)]!;
    out[i] = clampTrunc(f32(a[src[i]!]! + g));
    out[i + 1] = clampTrunc(f32(a[src[i + 1]!]! + g));
    out[i + 2] = clampTrunc(f32(a[src[i + 2]!]! + g));
    if (C === 4) out[i + 3] = src[i + 3]!;
  }
  return withData(img, out);
}

const UNIT = new Float32Array(256);
for (let v = 0; v < 256; v++) UNIT[v] = f32(v / 255);

/**
 * torchvision adjust_hue: shift the hue (in turns, -0.5..0.5) through its float32 HSV round
 * trip, then `(x * 255).to(uint8)`. Greyscale images are returned as is.
 */
export function adjustHue(img: ImageBuffer, hueFactor: number): ImageBuffer {
  if (!(hueFactor >= -0.5 && hueFactor <= 0.5)) throw new Error(`hue factor must be in [-0.5, 0.5], got ${hueFactor}`);
  const C = img.channels;
  if (C < 3) return img;
  const shift = f32(hueFactor);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += C) {
    const r = UNIT[src[i]!]!;
    const g = UNIT[src[i + 1]!]!;
    const b = UNIT[src[i + 2]!]!;
    // _rgb2hsv
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const eqc = maxc === minc;
    const cr = f32(maxc - minc);
    const s = f32(cr / (eqc ? 1 : maxc));
    const crd = eqc ? 1 : cr;
    const rc = f32(f32(maxc - r) / crd);
    const gc = f32(f32(maxc - g) / crd);
    const bc = f32(f32(maxc - b) / crd);
    const hr = maxc === r ? f32(bc - gc) : 0;
    const hg = maxc === g && maxc !== r ? f32(f32(2 + rc) - bc) : 0;
    const hb = maxc !== g && maxc !== r ? f32(f32(4 + gc) - rc) : 0;
    let h = f32(f32(hr + hg) + hb);
    h = f32(f32(h / 6) + 1);
    h = f32(h % 1);
    // shift, wrapped like torch's remainder (result in [0, 1))
    h = f32(h + shift);
    h = f32(h - Math.floor(h));
    // _hsv2rgb
    const h6 = f32(h * 6);
    const fi = Math.floor(h6);
    const fr = f32(h6 - fi);
    const v = maxc;
    const p = clamp01(f32(v * f32(1 - s)));
    const q = clamp01(f32(v * f32(1 - f32(s * fr))));
    const t = clamp01(f32(v * f32(1 - f32(s * f32(1 - fr)))));
    sectorRgb(((fi % 6) + 6) % 6, v, p, q, t, RGB);
    out[i] = Math.trunc(f32(RGB[0]! * 255));
    out[i + 1] = Math.trunc(f32(RGB[1]! * 255));
    out[i + 2] = Math.trunc(f32(RGB[2]! * 255));
    if (C === 4) out[i + 3] = src[i + 3]!;
  }
  return withData(img, out);
}

/** Scratch (r, g, b) of sectorRgb for the per-pixel HSV loops (holds float32 values exactly). */
const RGB = new Float64Array(3);

/** hsv2rgb's last step, shared by adjustHue and adjustHsv: (r, g, b) of hue sector `sector` (0..5) from v and its p, q, t, into rgb[0..2]. */
function sectorRgb(sector: number, v: number, p: number, q: number, t: number, rgb: Float64Array): void {
  switch (sector) {
    case 0: rgb[0] = v; rgb[1] = t; rgb[2] = p; break;
    case 1: rgb[0] = q; rgb[1] = v; rgb[2] = p; break;
    case 2: rgb[0] = p; rgb[1] = v; rgb[2] = t; break;
    case 3: rgb[0] = p; rgb[1] = q; rgb[2] = v; break;
    case 4: rgb[0] = t; rgb[1] = p; rgb[2] = v; break;
    default: rgb[0] = v; rgb[1] = p; rgb[2] = q; break;
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** MMSeg's `convert`: x * alpha + beta, clipped to 0..255 and truncated. */
export function affineLevels(img: ImageBuffer, alpha: number, beta: number): ImageBuffer {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clampTrunc(f32(f32(v * alpha) + beta));
  return applyLut(img, lut);
}

/**
 * HSV edit in double precision with rounding (the OpenCV-style path MMSeg's
 * PhotometricDistortion takes): hue shifted by `hueTurns`, saturation scaled by `satScale`.
 */
export function adjustHsv(img: ImageBuffer, hueTurns: number, satScale: number): ImageBuffer {
  const C = img.channels;
  if (C < 3) return img;
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += C) {
    const r = src[i]! / 255;
    const g = src[i + 1]! / 255;
    const b = src[i + 2]! / 255;
    const v = Math.max(r, g, b);
    const d = v - Math.min(r, g, b);
    let s = v === 0 ? 0 : d / v;
    let h = 0;
    if (d > 0) {
      h = v === r ? (g - b) / d : v === g ? 2 + (b - r) / d : 4 + (r - g) / d;
      h /= 6;
    }
    h += hueTurns;
    h -= Math.floor(h);
    s = Math.min(1, Math.max(0, s * satScale));
    const h6 = h * 6;
    const fi = Math.floor(h6);
    const f = h6 - fi;
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    sectorRgb(fi % 6, v, p, q, t, RGB);
    out[i] = Math.round(RGB[0]! * 255);
    out[i + 1] = Math.round(RGB[1]! * 255);
    out[i + 2] = Math.round(RGB[2]! * 255);
    if (C === 4) out[i + 3] = src[i + 3]!;
  }
  return withData(img, out);
}

/** torchvision's 1-D Gaussian kernel (float32): exp(-x^2 / (2 sigma^2)) over linspace(-(k-1)/2, (k-1)/2), normalised. */
export function gaussianKernel(size: number, sigma: number): Float32Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new Error(`Gaussian kernel size must be a positive odd integer, got ${size}`);
  if (!(sigma > 0)) throw new Error(`Gaussian sigma must be > 0, got ${sigma}`);
  const k = new Float32Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = -half + i;
    k[i] = Math.exp(-0.5 * (x / sigma) ** 2);
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i] = k[i]! / sum;
  return k;
}

/** Reflect an index into 0..n-1 without repeating the edge (torch's 'reflect' padding). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Separable Gaussian blur with reflect padding, rounded back to uint8 (torchvision gaussian_blur). */
export function gaussianBlur(img: ImageBuffer, kernelSize: [number, number], sigma: [number, number]): ImageBuffer {
  const kx = gaussianKernel(kernelSize[0], sigma[0]);
  const ky = gaussianKernel(kernelSize[1], sigma[1]);
  const { width: W, height: H, channels: C } = img;
  const src = img.data;
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  const xi = new Int32Array(W * kx.length);
  for (let x = 0; x < W; x++) for (let k = 0; k < kx.length; k++) xi[x * kx.length + k] = reflect(x + k - rx, W) * C;
  const tmp = new Float32Array(W * H * C);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < kx.length; k++) s += kx[k]! * src[row + xi[x * kx.length + k]! + c]!;
        tmp[row + x * C + c] = s;
      }
    }
  }
  const out = new Uint8ClampedArray(src.length);
  const rowLen = W * C;
  const rows = new Int32Array(ky.length);
  for (let y = 0; y < H; y++) {
    const o = y * rowLen;
    for (let k = 0; k < ky.length; k++) rows[k] = reflect(y + k - ry, H) * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let s = 0;
      for (let k = 0; k < ky.length; k++) s += ky[k]! * tmp[rows[k]! + i]!;
      out[o + i] = s;
    }
  }
  return withData(img, new Uint8Array(out.buffer));
}

/** The image with its channels in the order `order` (channel c of the result is channel order[c]). */
export function permuteChannels(img: ImageBuffer, order: ArrayLike<number>): ImageBuffer {
  const C = img.channels;
  if (order.length !== C) throw new Error(`permuteChannels: ${order.length} channel indices for an image of ${C} channels`);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let p = 0; p < src.length; p += C) for (let c = 0; c < C; c++) out[p + c] = src[p + order[c]!]!;
  return withData(img, out);
}
