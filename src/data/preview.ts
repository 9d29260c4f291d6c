// Augmentation preview: N samples through the training transforms, masks blended over the
// images in palette colours, laid out as one PNG grid. The quickest way to see that a crop,
// flip or label map does what the config says.
import sharp from 'sharp';
import { backgroundSkip, overlayMask, toRgb, type Palette } from './overlay.js';
import { vocPalette } from './labelmap.js';
import { shuffleInPlace, writeFileAtomic } from './splits.js';
import type { ImageBuffer, Sample, SampleRef } from './types.js';
import { sampleOrSkip, type SampleSource } from './stats.js';
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
  /** Colours by train id. Default: the source label map's palette, else the VOC colours. */
  palette?: Palette;
  /** Mask value left uncoloured (and padding of the transforms). Default: the label map's, else 255. */
  ignoreIndex?: number;
  /** Class names for the legend. Default: the source label map's classes. */
  classNames?: string[];
  /** A legend (colour swatch, id and name of every class shown) under the grid. Default true. */
  legend?: boolean;
  /** Each tile's sample id written under it. Default true. */
  captions?: boolean;
  /** Picks the samples and drives the transform's randomness (default 0). */
  seed?: number;
  /** The augmentation: a Compose, a step list (normalize is skipped), or a function. */
  transform?: Compose | StepConfig[] | SampleTransform;
}

export interface PreviewResult {
  grid: ImageBuffer;
  refs: SampleRef[];
  /** The classes in the legend (ids present in the shown masks), with their colours. */
  legend: Array<{ id: number; name: string; color: readonly [number, number, number] }>;
}

const CAPTION = 16; // caption strip height in pixels
const LEGEND_ROW = 20;
const esc = (t: string): string => t.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const hex = (c: readonly number[]): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

/** SVG text (and rectangles) rendered onto a dark strip of the given size, as RGB. */
async function svgStrip(width: number, height: number, body: string): Promise<ImageBuffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#202020"/>${body}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}

/** A tile with its sample id written under it (clipped to the tile width). */
async function captioned(tile: ImageBuffer, caption: string): Promise<ImageBuffer> {
  const strip = await svgStrip(tile.width, CAPTION, `<text x="3" y="12" font-family="sans-serif" font-size="11" fill="#f0f0f0">${esc(caption)}</text>`);
  const data = new Uint8Array(tile.width * (tile.height + CAPTION) * 3);
  data.set(toRgb(tile).data, 0);
  data.set(strip.data, tile.width * tile.height * 3);
  return { data, width: tile.width, height: tile.height + CAPTION, channels: 3 };
}

/** Legend rows: a swatch in the class colour, then "id name"; entries wrap at `width`. */
export async function renderLegend(entries: PreviewResult['legend'], width: number, ignoreIndex: number): Promise<ImageBuffer> {
  const items = [...entries.map((e) => ({ color: e.color, label: `${e.id} ${e.name}` })), { color: [255, 255, 255] as const, label: `${ignoreIndex} ignore (not coloured)` }];
  let x = 4, row = 0;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + Math.ceil(it.label.length * 6.5) + 12;
    if (x + w > width && x > 4) (x = 4), row++;
    const y = 4 + row * LEGEND_ROW;
    parts.push(`<rect x="${x}" y="${y}" width="14" height="14" fill="${hex(it.color)}" stroke="#808080" stroke-width="1"/>`);
    parts.push(`<text x="${x + 20}" y="${y + 12}" font-family="sans-serif" font-size="12" fill="#f0f0f0">${esc(it.label)}</text>`);
    x += w;
  }
  return svgStrip(width, 8 + (row + 1) * LEGEND_ROW, parts.join(''));
}

/** `bottom` appended under `top` (same width), RGB. */
function stack(top: ImageBuffer, bottom: ImageBuffer): ImageBuffer {
  const data = new Uint8Array(top.width * (top.height + bottom.height) * 3);
  data.set(toRgb(top).data, 0);
  data.set(toRgb(bottom).data, top.width * top.height * 3);
  return { data, width: top.width, height: top.height + bottom.height, channels: 3 };
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
  const lm = source.labelMap;
  const ignoreIndex = opts.ignoreIndex ?? lm?.ignoreIndex ?? 255;
  const t = opts.transform;
  // Pads and rotations fill masks with the ignore index of the dataset, as in the loader.
  const transform: SampleTransform | undefined =
    t === undefined ? undefined : typeof t === 'function' ? t : ((c: Compose) => (s: Sample, rng: Rng) => c.apply(s, rng))(t instanceof Compose ? t : new Compose(t, { ignoreIndex }));
  const palette = opts.palette ?? lm?.palette ?? vocPalette(256);
  const names = opts.classNames ?? lm?.classes ?? [];
  const skip = backgroundSkip(palette);
  const tiles: ImageBuffer[] = [];
  const refs: SampleRef[] = [];
  const seen = new Set<number>();
  const indices = previewIndices(source.length, n, seed);
  // Tile k's augmentation draws from Rng.derive(seed, k): the grid is the same on every run.
  for (let k = 0; k < n; k++) {
    let s = await sampleOrSkip(source, indices[k]);
    if (s === null) continue; // a bad file under onBadFile 'skip'
    if (transform) s = await transform(s, Rng.derive(seed, k));
    if (s.mask) for (const v of s.mask.data) if (v !== ignoreIndex) seen.add(v);
    const shown = s.mask ? overlayMask(s.image, s.mask, palette, opts.alpha ?? 0.5, { ignoreIndex, skip }) : toRgb(s.image);
    const tile = await fitTile(shown, opts.tile ?? 256);
    tiles.push(opts.captions === false ? tile : await captioned(tile, s.ref.id));
    refs.push(s.ref);
  }
  if (tiles.length === 0) throw new Error(`preview: all ${n} samples drawn were skipped as bad files; run segkit doctor to list them`);
  const colourOf = (id: number): readonly [number, number, number] => palette[id] ?? vocPalette(256)[id % 256];
  const legend = [...seen].sort((a, b) => a - b).map((id) => ({ id, name: names[id] ?? `class ${id}`, color: colourOf(id) }));
  let grid = makeGrid(tiles, opts.cols ?? Math.ceil(Math.sqrt(tiles.length)), opts.pad ?? 4);
  if (opts.legend !== false) grid = stack(grid, await renderLegend(legend, grid.width, ignoreIndex));
  return { grid, refs, legend };
}

/** Renders the preview grid and writes it as PNG (atomically). */
export async function writePreview(path: string, source: SampleSource, opts: PreviewOptions = {}): Promise<PreviewResult> {
  const r = await renderPreview(source, opts);
  writeFileAtomic(path, await encodePng(r.grid));
  return r;
}
