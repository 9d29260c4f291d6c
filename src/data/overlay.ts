// Colouring masks and blending them over images. Used by the augmentation preview, the doctor's
// HTML report, and later for prediction overlays.
import type { ImageBuffer, MaskBuffer } from './types.js';
import { vocPalette } from './labelmap.js';

/** RGB colour per train id. */
export type Palette = ReadonlyArray<readonly [number, number, number]>;

export interface OverlayOptions {
  /** Pixels with this value keep the image's colour (default 255). */
  ignoreIndex?: number;
  /** Class ids drawn without colour, e.g. [0] to leave background untouched. */
  skip?: number[];
}

/**
 * The `skip` list overlays use: a black background (VOC's class 0) is left uncoloured, since
 * blending it would only darken the image; every other class is drawn, black ones too.
 */
export function backgroundSkip(palette: Palette): number[] {
  const bg = palette[0];
  return bg && bg[0] === 0 && bg[1] === 0 && bg[2] === 0 ? [0] : [];
}

function colourOf(palette: Palette, v: number): readonly [number, number, number] {
  // Ids beyond the palette fall back to the VOC colour of the id, so nothing is drawn black by accident.
  return palette[v] ?? VOC[v % 256];
}
const VOC = vocPalette(256);

function checkSizes(image: { width: number; height: number }, mask: MaskBuffer, what: string): void {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`${what}: image is ${image.width}x${image.height} but mask is ${mask.width}x${mask.height}; resize the mask with nearest-neighbour to the image size first`);
  }
}

/** The image as 3-channel RGB (grey replicated, alpha dropped). */
export function toRgb(image: ImageBuffer): ImageBuffer {
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const s = image.channels;
  for (let i = 0; i < n; i++) {
    if (s < 3) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = image.data[i * s];
    else {
      out[i * 3] = image.data[i * s];
      out[i * 3 + 1] = image.data[i * s + 1];
      out[i * 3 + 2] = image.data[i * s + 2];
    }
  }
  return { data: out, width: image.width, height: image.height, channels: 3 };
}

/** A mask painted in palette colours (ignore index white). RGB, same size as the mask. */
export function colorizeMask(mask: MaskBuffer, palette: Palette, opts: OverlayOptions = {}): ImageBuffer {
  const ignore = opts.ignoreIndex ?? 255;
  const n = mask.width * mask.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = mask.data[i];
    const [r, g, b] = v === ignore ? ([255, 255, 255] as const) : colourOf(palette, v);
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return { data: out, width: mask.width, height: mask.height, channels: 3 };
}

/**
 * Blends the mask's palette colours over the image: out = (1 - alpha) * image + alpha * colour,
 * rounded. Ignore-index pixels and `skip` classes keep the image colour. Returns RGB.
 */
export function overlayMask(image: ImageBuffer, mask: MaskBuffer, palette: Palette, alpha = 0.5, opts: OverlayOptions = {}): ImageBuffer {
  checkSizes(image, mask, 'overlayMask');
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayMask: alpha ${alpha} is outside [0, 1]`);
  const ignore = opts.ignoreIndex ?? 255;
  const skip = new Set(opts.skip ?? []);
  const rgb = toRgb(image);
  const out = new Uint8Array(rgb.data);
  const n = mask.width * mask.height;
  for (let i = 0; i < n; i++) {
    const v = mask.data[i];
    if (v === ignore || skip.has(v)) continue;
    const col = colourOf(palette, v);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((1 - alpha) * rgb.data[i * 3 + c] + alpha * col[c]);
  }
  return { data: out, width: image.width, height: image.height, channels: 3 };
}

/** (C, H, W) floats back to 8-bit RGB (H, W, 3): x * std + mean (none: x as it is), times 255. */
export function toDisplay(data: Float32Array, C: number, H: number, W: number, norm: { mean: readonly number[]; std: readonly number[] } | undefined): ImageBuffer {
  const out = new Uint8Array(H * W * 3);
  for (let c = 0; c < 3; c++) {
    const src = Math.min(c, C - 1);
    const [m, s] = norm ? [norm.mean[src]!, norm.std[src]!] : [0, 1];
    for (let p = 0; p < H * W; p++) out[p * 3 + c] = Math.max(0, Math.min(255, Math.round((data[src * H * W + p]! * s + m) * 255)));
  }
  return { data: out, width: W, height: H, channels: 3 };
}
