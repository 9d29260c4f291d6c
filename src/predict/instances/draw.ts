// Detections drawn on an image: each instance's mask filled with its class colour at `alpha`,
// its box outlined in that colour, and "name score" written on a colour tab above the box. Masks
// and boxes are drawn here pixel by pixel (exact, testable); the text is SVG rendered by sharp
// (librsvg with the system's fonts) and composited over. The best detection is drawn last, on top.
import sharp from 'sharp';
import type { ImageBuffer } from '../../data/types.js';
import { toRgb, type Palette } from '../../data/overlay.js';
import { vocPalette } from '../../data/labelmap.js';
import type { DetectionArrays } from './detections.js';

export interface DrawOptions {
  /** Class names by label (index 0 the background); default "class <label>". */
  classNames?: readonly string[];
  /** Colour by label; default the VOC palette. */
  palette?: Palette;
  /** Mask fill opacity, 0..1. Default 0.5. */
  alpha?: number;
  /** Box outline width in pixels (drawn inside the box). Default 2; 0 draws no box. */
  lineWidth?: number;
  /** Write "name score" above each box. Default true. */
  text?: boolean;
  /** Text size in pixels. Default 11. */
  fontSize?: number;
}

const VOC = vocPalette(256);
const esc = (t: string): string => t.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const hex = (c: readonly number[]): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

export function classNameOf(label: number, names: readonly string[] | undefined): string {
  return names?.[label] ?? `class ${label}`;
}

/** The box's pixel rectangle [x0, y0, x1, y1] (inclusive), inside the image; null when empty. */
function pixelBox(b: ArrayLike<number>, W: number, H: number): [number, number, number, number] | null {
  const x0 = Math.max(0, Math.round(b[0]!));
  const y0 = Math.max(0, Math.round(b[1]!));
  const x1 = Math.min(W, Math.round(b[2]!)) - 1;
  const y1 = Math.min(H, Math.round(b[3]!)) - 1;
  return x1 < x0 || y1 < y0 ? null : [x0, y0, x1, y1];
}

/** Fill masks and outline boxes into `rgb` (in place), worst detection first. */
export function paintDetections(rgb: ImageBuffer, d: DetectionArrays, opts: DrawOptions = {}): void {
  const { width: W, height: H, data } = rgb;
  const palette = opts.palette ?? VOC;
  const a = opts.alpha ?? 0.5;
  const line = opts.lineWidth ?? 2;
  if (d.masks && (d.width !== W || d.height !== H)) {
    throw new Error(`drawDetections: masks are ${d.width}x${d.height} but the image is ${W}x${H}; draw on the image the detections were made for`);
  }
  for (let k = d.scores.length - 1; k >= 0; k--) {
    const c = palette[d.labels[k]!] ?? VOC[d.labels[k]! % 256]!;
    const m = d.masks?.[k];
    if (m && a > 0) {
      for (let i = 0; i < W * H; i++) {
        if (m[i] === 0) continue;
        for (let j = 0; j < 3; j++) data[3 * i + j] = Math.round((1 - a) * data[3 * i + j]! + a * c[j]!);
      }
    }
    const r = line > 0 ? pixelBox(d.boxes.subarray(4 * k, 4 * k + 4), W, H) : null;
    if (!r) continue;
    const [x0, y0, x1, y1] = r;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const edge = x - x0 < line || x1 - x < line || y - y0 < line || y1 - y < line;
        if (edge) data.set(c, 3 * (y * W + x));
      }
    }
  }
}

/** The SVG of the text tabs ("name score" on the class colour above each box). */
function labelsSvg(d: DetectionArrays, W: number, H: number, opts: DrawOptions): string {
  const palette = opts.palette ?? VOC;
  const fs = opts.fontSize ?? 11;
  const tabH = fs + 3;
  const parts: string[] = [];
  for (let k = d.scores.length - 1; k >= 0; k--) {
    const r = pixelBox(d.boxes.subarray(4 * k, 4 * k + 4), W, H);
    if (!r) continue;
    const c = palette[d.labels[k]!] ?? VOC[d.labels[k]! % 256]!;
    const text = `${classNameOf(d.labels[k]!, opts.classNames)} ${d.scores[k]!.toFixed(2)}`;
    const y = r[1] >= tabH ? r[1] - tabH : r[1];
    const w = Math.ceil(text.length * fs * 0.62) + 4;
    const ink = 0.299 * c[0]! + 0.587 * c[1]! + 0.114 * c[2]! > 140 ? '#000000' : '#ffffff';
    parts.push(`<rect x="${r[0]}" y="${y}" width="${w}" height="${tabH}" fill="${hex(c)}"/>`);
    parts.push(`<text x="${r[0] + 2}" y="${y + fs}" font-family="DejaVu Sans, sans-serif" font-size="${fs}" fill="${ink}">${esc(text)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

/** The image (any channels) with the detections drawn, as RGB; the input is not changed. */
export async function drawDetections(image: ImageBuffer, d: DetectionArrays, opts: DrawOptions = {}): Promise<ImageBuffer> {
  const base = toRgb(image);
  const rgb: ImageBuffer = { ...base, data: base.data === image.data ? image.data.slice() : base.data };
  paintDetections(rgb, d, opts);
  if (opts.text === false || d.scores.length === 0) return rgb;
  const { width: W, height: H } = rgb;
  const { data, info } = await sharp(rgb.data, { raw: { width: W, height: H, channels: 3 } })
    .composite([{ input: Buffer.from(labelsSvg(d, W, H, opts)), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}
