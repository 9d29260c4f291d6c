// Augmentation preview: N samples through the training transforms, masks blended over the
// images in palette colours, laid out as one PNG grid. The quickest way to see that a crop,
// flip or label map does what the config says.
import sharp from 'sharp';
import { overlayMask, toRgb, type Palette } from './overlay.js';
import { vocPalette } from './labelmap.js';
import { shuffleInPlace, writeFileAtomic } from './splits.js';
import type { ImageBuffer, Sample, SampleRef } from './types.js';
import type { SampleSource } from './stats.js';
import { Compose, Rng, type StepConfig } from './transforms/index.js';

/** An augmentation of a decoded sample, drawing every random choice from `rng`. Keeps uint8. */
export type SampleTransform = (sample: Sample, rng: Rng) => Sample | Promise<Sample>;

export interface PreviewOptions {
  /** Samples in the grid (default 16). More than the dataset holds repeats samples with new draws. */
  n?: number;
  /** Columns (default ceil(sqrt(n))). */
  cols?: number;
  /** Each tile is tile x tile pixels, the sample fitted inside (default 256). */
  tile?: number;
  /** Gap between tiles in pixels (default 4). */
  pad?: number;
  /** Mask opacity (default 0.5). */
  alpha?: number;
  palette?: Palette;
  ignoreIndex?: number;
  /** Picks the samples and drives the transform's randomness (default 0). */
  seed?: number;
  /** The augmentation: a Compose, a step list (normalize is skipped), or a function. */
  transform?: Compose | StepConfig[] | SampleTransform;
}

export interface PreviewResult {
  grid: ImageBuffer;
  refs: SampleRef[];
}

/** Tiles of equal size in rows of `cols`, `pad` pixels apart, on a dark grey background. RGB. */
export function makeGrid(tiles: ImageBuffer[], cols: number, pad = 4, background: [number, number, number] = [32, 32, 32]): ImageBuffer {
  if (tiles.length === 0) throw new Error('makeGrid: no tiles to lay out');
  const tw = Math.max(...tiles.map((t) => t.width));
  const th = Math.max(...tiles.map((t) => t.height));
  cols = Math.max(1, Math.min(cols, tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * tw + (cols + 1) * pad;
  const height = rows * th + (rows + 1) * pad;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) out.set(background, i * 3);
  tiles.forEach((tile, k) => {
    const t = toRgb(tile);
    const x0 = pad + (k % cols) * (tw + pad);
    const y0 = pad + Math.floor(k / cols) * (th + pad);
    for (let y = 0; y < t.height; y++) {
      out.set(t.data.subarray(y * t.width * 3, (y + 1) * t.width * 3), ((y0 + y) * width + x0) * 3);
    }
  });
  return { data: out, width, height, channels: 3 };
}

/** The image scaled to fit a size x size box (aspect kept), centred on grey. Enlarging keeps pixels sharp. */
export async function fitTile(image: ImageBuffer, size: number): Promise<ImageBuffer> {
  const rgb = toRgb(image);
  const kernel = size >= Math.max(rgb.width, rgb.height) ? 'nearest' : 'lanczos3';
  const { data, info } = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size, size, { fit: 'contain', background: { r: 32, g: 32, b: 32 }, kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}

/** An RGB/grey/RGBA image as PNG bytes. */
export async function encodePng(image: ImageBuffer): Promise<Buffer> {
  const c = image.channels as 1 | 2 | 3 | 4;
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: c } }).png().toBuffer();
}

/** Which dataset indices the preview shows: a seeded shuffle, cycled when n exceeds the dataset. */
export function previewIndices(length: number, n: number, seed: number): number[] {
  if (length === 0) throw new Error('preview: the dataset has no samples');
  const rng = new Rng(seed);
  const order = shuffleInPlace(Array.from({ length }, (_, i) => i), () => rng.random());
  return Array.from({ length: n }, (_, k) => order[k % length]);
}

/** Renders the preview grid in memory. */
export async function renderPreview(source: SampleSource, opts: PreviewOptions = {}): Promise<PreviewResult> {
  const n = opts.n ?? 16;
  if (!Number.isInteger(n) || n < 1) throw new Error(`preview: --n ${n} is not a positive whole number`);
  const seed = opts.seed ?? 0;
  const t = opts.transform;
  const transform: SampleTransform | undefined =
    t === undefined ? undefined : typeof t === 'function' ? t : ((c: Compose) => (s: Sample, rng: Rng) => c.apply(s, rng))(t instanceof Compose ? t : new Compose(t));
  const palette = opts.palette ?? vocPalette(256);
  // Black palette entries (VOC background) mean "no colour": blending them would only darken.
  const skip = palette.flatMap((c, id) => (c[0] === 0 && c[1] === 0 && c[2] === 0 ? [id] : []));
  const tiles: ImageBuffer[] = [];
  const refs: SampleRef[] = [];
  // Tile k's augmentation draws from Rng.derive(seed, k): the grid is the same on every run.
  const indices = previewIndices(source.length, n, seed);
  for (let k = 0; k < n; k++) {
    let s = await source.get(indices[k]);
    if (transform) s = await transform(s, Rng.derive(seed, k));
    const shown = s.mask
      ? overlayMask(s.image, s.mask, palette, opts.alpha ?? 0.5, { ignoreIndex: opts.ignoreIndex ?? 255, skip })
      : toRgb(s.image);
    tiles.push(await fitTile(shown, opts.tile ?? 256));
    refs.push(s.ref);
  }
  return { grid: makeGrid(tiles, opts.cols ?? Math.ceil(Math.sqrt(n)), opts.pad ?? 4), refs };
}

/** Renders the preview grid and writes it as PNG (atomically). */
export async function writePreview(path: string, source: SampleSource, opts: PreviewOptions = {}): Promise<PreviewResult> {
  const r = await renderPreview(source, opts);
  writeFileAtomic(path, await encodePng(r.grid));
  return r;
}
