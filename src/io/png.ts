// A small PNG codec for masks. sharp turns palette PNGs into RGB and 16-bit gray into 8-bit
// sRGB, but a mask needs the raw stored values: palette indices (VOC), 16-bit ids, 1-bit 0/1.
// So PNG masks are parsed here (node:zlib inflates IDAT), and masks are written here too.
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
  colorType: number;
  interlaced: boolean;
  channels: number;
}

export interface PngRaw extends PngHeader {
  /** Stored samples, (H, W, channels) row-major, unscaled (palette PNGs: the indices). */
  samples: Uint8Array | Uint16Array;
  /** PLTE entries as r,g,b triples, for palette PNGs. */
  palette?: Uint8Array;
}

/** Thrown for malformed PNG data; the caller adds the file name. */
export class PngFormatError extends Error {}

/** Read IHDR only (the first chunk), without inflating anything. */
export function readPngHeader(buf: Uint8Array): PngHeader {
  if (buf.length < 33 || !PNG_SIGNATURE.equals(buf.subarray(0, 8))) throw new PngFormatError('not a PNG file (bad signature)');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(8) !== 13 || String.fromCharCode(...buf.subarray(12, 16)) !== 'IHDR') throw new PngFormatError('first chunk is not IHDR');
  const width = dv.getUint32(16), height = dv.getUint32(20);
  const bitDepth = buf[24], colorType = buf[25], interlace = buf[28];
  if (width === 0 || height === 0) throw new PngFormatError(`invalid size ${width}x${height}`);
  if (!DEPTHS[colorType]?.includes(bitDepth)) throw new PngFormatError(`invalid colour type ${colorType} with bit depth ${bitDepth}`);
  if (buf[26] !== 0 || buf[27] !== 0 || interlace > 1) throw new PngFormatError('unknown compression, filter or interlace method');
  return { width, height, bitDepth, colorType, interlaced: interlace === 1, channels: CHANNELS[colorType] };
}

/** Decode a whole PNG to its stored samples. Checks chunk CRCs and that the file reaches IEND. */
export function decodePng(buf: Uint8Array): PngRaw {
  const h = readPngHeader(buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let pos = 8, ended = false;
  while (pos + 12 <= buf.length) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...buf.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > buf.length) throw new PngFormatError(`truncated: chunk ${type} runs past the end of the file`);
    const crc = dv.getUint32(pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== crc) throw new PngFormatError(`corrupt: CRC mismatch in chunk ${type}`);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IDAT') idat.push(data);
    else if (type === 'PLTE') palette = data;
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos += 12 + len;
  }
  if (!ended) throw new PngFormatError('truncated: the file ends before the IEND chunk');
  if (idat.length === 0) throw new PngFormatError('no image data (IDAT)');
  if (h.colorType === 3 && !palette) throw new PngFormatError('palette image without PLTE chunk');
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new PngFormatError(`corrupt image data: ${(e as Error).message}`);
  }
  const samples = h.bitDepth === 16 ? new Uint16Array(h.width * h.height * h.channels) : new Uint8Array(h.width * h.height * h.channels);
  if (!h.interlaced) {
    const used = unfilterInto(raw, 0, h, h.width, h.height, samples, 0, 0, 1, 1);
    if (used > raw.length) throw new PngFormatError('truncated image data');
  } else {
    // Adam7: seven sub-images, each stored like a small PNG, scattered onto the grid.
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    let off = 0;
    for (const [x0, y0, dx, dy] of passes) {
      const pw = Math.ceil((h.width - x0) / dx), ph = Math.ceil((h.height - y0) / dy);
      if (pw <= 0 || ph <= 0) continue;
      off = unfilterInto(raw, off, h, pw, ph, samples, x0, y0, dx, dy);
      if (off > raw.length) throw new PngFormatError('truncated image data');
    }
  }
  return { ...h, samples, palette };
}

// Unfilter a (sub-)image of pw x ph pixels starting at raw[off] and write its samples to the
// grid positions (x0 + x*dx, y0 + y*dy). Returns the offset after it.
function unfilterInto(raw: Uint8Array, off: number, h: PngHeader, pw: number, ph: number, out: Uint8Array | Uint16Array, x0: number, y0: number, dx: number, dy: number): number {
  const { bitDepth, channels, width } = h;
  const rowBytes = Math.ceil((pw * channels * bitDepth) / 8);
  const bpp = Math.max(1, (channels * bitDepth) >> 3);
  if (off + ph * (rowBytes + 1) > raw.length) return off + ph * (rowBytes + 1);
  let prev = new Uint8Array(rowBytes);
  let cur = new Uint8Array(rowBytes);
  for (let y = 0; y < ph; y++) {
    const f = raw[off];
    const src = raw.subarray(off + 1, off + 1 + rowBytes);
    off += rowBytes + 1;
    unfilterRow(f, src, cur, prev, bpp);
    // Unpack the row's samples (MSB first for depths below 8).
    const rowBase = (y0 + y * dy) * width;
    const n = pw * channels;
    if (bitDepth === 8 && dx === 1) out.set(cur.subarray(0, n), (rowBase + x0) * channels);
    else for (let s = 0; s < n; s++) {
      let v: number;
      if (bitDepth === 8) v = cur[s];
      else if (bitDepth === 16) v = (cur[2 * s] << 8) | cur[2 * s + 1];
      else {
        const bit = s * bitDepth;
        v = (cur[bit >> 3] >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
      }
      const px = (s / channels) | 0, ch = s - px * channels;
      out[(rowBase + x0 + px * dx) * channels + ch] = v;
    }
    [prev, cur] = [cur, prev];
  }
  return off;
}

function unfilterRow(f: number, src: Uint8Array, cur: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = src.length;
  switch (f) {
    case 0:
      cur.set(src);
      return;
    case 1:
      for (let i = 0; i < n; i++) cur[i] = (src[i] + (i >= bpp ? cur[i - bpp] : 0)) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = (src[i] + prev[i]) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) cur[i] = (src[i] + (((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) cur[i] = (src[i] + (i >= bpp ? paeth(cur[i - bpp], prev[i], prev[i - bpp]) : prev[i])) & 255;
      return;
    default:
      throw new PngFormatError(`corrupt: unknown row filter ${f}`);
  }
}

export interface PngEncodeInput {
  data: Uint8Array | Uint16Array; // (H, W, channels)
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  /** Write a palette PNG (1 channel, 8-bit indices) with these r,g,b colours (≤ 256). */
  palette?: Array<[number, number, number]>;
}

/** Encode 8-bit (or, for Uint16Array data, 16-bit) gray/RGB(A), or a palette PNG. Deterministic. */
export function encodePng(img: PngEncodeInput): Buffer {
  const { width, height, channels, palette } = img;
  const wide = img.data instanceof Uint16Array;
  if (img.data.length !== width * height * channels) throw new Error(`encodePng: data has ${img.data.length} values, expected ${width}x${height}x${channels}`);
  if (palette && (channels !== 1 || wide)) throw new Error('encodePng: a palette PNG takes one 8-bit channel of indices');
  if (palette && palette.length > 256) throw new Error(`encodePng: a palette holds at most 256 colours, got ${palette.length}`);
  const colorType = palette ? 3 : ({ 1: 0, 2: 4, 3: 2, 4: 6 } as const)[channels];
  const bytesPer = wide ? 2 : 1;
  const bpp = channels * bytesPer;
  const rowBytes = width * bpp;
  const filtered = Buffer.alloc(height * (rowBytes + 1));
  const row = new Uint8Array(rowBytes), prev = new Uint8Array(rowBytes);
  const cand = new Uint8Array(rowBytes);
  const best = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const base = y * width * channels;
    for (let s = 0; s < width * channels; s++) {
      const v = img.data[base + s];
      if (wide) (row[2 * s] = v >> 8), (row[2 * s + 1] = v & 255);
      else row[s] = v;
    }
    // Choose the filter with the smallest sum of absolute residuals (libpng's heuristic);
    // palette images stay unfiltered, as the PNG spec recommends.
    let bestF = 0, bestScore = Infinity;
    for (let f = 0; f <= (palette ? 0 : 4); f++) {
      const score = filterRow(f, row, prev, bpp, cand);
      if (score < bestScore) (bestScore = score), (bestF = f), best.set(cand);
    }
    filtered[y * (rowBytes + 1)] = bestF;
    filtered.set(best, y * (rowBytes + 1) + 1);
    prev.set(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = wide ? 16 : 8;
  ihdr[9] = colorType;
  const chunks = [PNG_SIGNATURE, chunk('IHDR', ihdr)];
  if (palette) chunks.push(chunk('PLTE', Buffer.from(palette.flat())));
  // Level 9 pays off on masks; on photos it costs several times the time for ~1 % of size.
  chunks.push(chunk('IDAT', deflateSync(filtered, { level: channels >= 3 ? 6 : 9 })), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

// Filter one row with filter type f into out; returns the sum of |residual| (as signed bytes).
function filterRow(f: number, row: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): number {
  const n = row.length;
  if (f === 0) out.set(row);
  else if (f === 1) for (let i = 0; i < n; i++) out[i] = row[i] - (i >= bpp ? row[i - bpp] : 0);
  else if (f === 2) for (let i = 0; i < n; i++) out[i] = row[i] - prev[i];
  else if (f === 3) for (let i = 0; i < n; i++) out[i] = row[i] - (((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1);
  else for (let i = 0; i < n; i++) out[i] = row[i] - (i >= bpp ? paeth(row[i - bpp], prev[i], prev[i - bpp]) : prev[i]);
  let score = 0;
  for (let i = 0; i < n; i++) {
    const r = out[i];
    score += r < 128 ? r : 256 - r;
  }
  return score;
}

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
