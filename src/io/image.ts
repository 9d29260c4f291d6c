// Image and mask I/O through sharp (PNG, JPEG, WebP, TIFF), with PNG masks read by our own
// decoder so palette indices and 16-bit values survive. Every error names the file.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import type { ImageBuffer, MaskBuffer } from '../data/types.js';
import { decodePng, encodePng, PngFormatError, readPngHeader } from './png.js';
import { writeAtomic } from './atomic.js';

export { writeAtomic };

/** sharp's own default for limitInputPixels (0x3FFF * 0x3FFF). */
export const DEFAULT_MAX_PIXELS = 268402689;

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

/** A file that cannot be used as it is: empty, truncated, corrupt, misnamed, too large. */
export class BadFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'BadFileError';
  }
}

/** An image with more pixels than the limit allows, refused from its header before decoding. */
export class TooManyPixelsError extends BadFileError {
  constructor(
    file: string,
    readonly width: number,
    readonly height: number,
    readonly maxPixels: number,
  ) {
    super(file, `${width}x${height} = ${width * height} pixels is above the limit of ${maxPixels} (maxPixels); refused before decoding. Raise maxPixels if you trust the file`);
    this.name = 'TooManyPixelsError';
  }
}

const EXT_FORMAT: Record<string, ImageFormat> = {
  '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.jpe': 'jpeg', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff',
};
const FORMAT_EXT: Record<ImageFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif' };
/** Extensions the sources pick up. */
export const IMAGE_EXTENSIONS = Object.keys(EXT_FORMAT);

/** Recognise the format from the first bytes (never from the name). */
export function sniffFormat(buf: Uint8Array): ImageFormat | 'gif' | 'bmp' | undefined {
  const s = (i: number, t: string) => t.split('').every((ch, k) => buf[i + k] === ch.charCodeAt(0));
  if (buf[0] === 0x89 && s(1, 'PNG')) return 'png';
  if (buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (s(0, 'RIFF') && s(8, 'WEBP')) return 'webp';
  if (s(0, 'II*\0') || s(0, 'MM\0*')) return 'tiff';
  if (s(0, 'GIF8')) return 'gif';
  if (s(0, 'BM')) return 'bmp';
  return undefined;
}

export interface ReadOptions {
  /** Refuse images with more pixels than this, checked from the header. Default 268402689. */
  maxPixels?: number;
}

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  channels: number;
  /** bits per sample: 8 or 16 (1, 2, 4 for small PNGs) */
  bitDepth: number;
  isPalette: boolean;
}

/** The format of the image bytes `buf`, or an error naming `file` when they hold no image segkit reads. */
function checkedFormat(file: string, buf: Buffer): ImageFormat {
  if (buf.length === 0) throw new BadFileError(file, 'empty file (0 bytes); re-export or remove it');
  const format = sniffFormat(buf);
  if (format === 'gif' || format === 'bmp') throw new BadFileError(file, `${format.toUpperCase()} is not supported; convert it to PNG`);
  if (!format) throw new BadFileError(file, `not a PNG, JPEG, WebP or TIFF image (first bytes ${buf.subarray(0, 8).toString('hex')})`);
  return format;
}

/** Read a file and check it is a non-empty image whose name matches its content. */
async function readChecked(file: string): Promise<{ buf: Buffer; format: ImageFormat }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${(e as Error).message})`);
  }
  const format = checkedFormat(file, buf);
  const named = EXT_FORMAT[extname(file).toLowerCase()];
  if (named && named !== format) {
    throw new BadFileError(file, `holds ${format.toUpperCase()} data but is named ${extname(file)}; rename it to ${FORMAT_EXT[format]}`);
  }
  return { buf, format };
}

/** Header-only facts about an image (dimensions, channels, depth); nothing is decoded. */
async function infoOf(file: string, buf: Buffer, format: ImageFormat): Promise<ImageInfo> {
  if (format === 'png') {
    try {
      const h = readPngHeader(buf);
      return { format, width: h.width, height: h.height, channels: h.colorType === 3 ? 3 : h.channels, bitDepth: h.bitDepth, isPalette: h.colorType === 3 };
    } catch (e) {
      throw new BadFileError(file, `corrupt PNG: ${(e as Error).message}`);
    }
  }
  try {
    const m = await sharp(buf, { limitInputPixels: false }).metadata();
    const bitDepth = m.depth === 'ushort' || m.depth === 'short' ? 16 : 8;
    return { format, width: m.width ?? 0, height: m.height ?? 0, channels: m.channels ?? 0, bitDepth, isPalette: m.isPalette ?? false };
  } catch (e) {
    throw new BadFileError(file, `corrupt ${format.toUpperCase()} header: ${cleanSharp(e)}`);
  }
}

/** The header facts, refusing an image above maxPixels before anything is decoded. */
async function limitChecked(file: string, buf: Buffer, format: ImageFormat, opts: ReadOptions): Promise<{ buf: Buffer; format: ImageFormat; info: ImageInfo; maxPixels: number }> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const info = await infoOf(file, buf, format);
  if (info.width * info.height > maxPixels) throw new TooManyPixelsError(file, info.width, info.height, maxPixels);
  return { buf, format, info, maxPixels };
}

/** readChecked and limitChecked. */
async function openChecked(file: string, opts: ReadOptions): Promise<{ buf: Buffer; format: ImageFormat; info: ImageInfo; maxPixels: number }> {
  const { buf, format } = await readChecked(file);
  return limitChecked(file, buf, format, opts);
}

const decoder = (buf: Buffer, maxPixels: number) => sharp(buf, { limitInputPixels: Number.isFinite(maxPixels) ? maxPixels : false });

const decodeError = (file: string, format: ImageFormat, e: unknown): BadFileError =>
  new BadFileError(file, `cannot decode ${format.toUpperCase()} (${cleanSharp(e)}); the file is corrupt or truncated`);

/** Probe an image file: format, size, channels, depth, palette; reads the header only. */
export async function probeImage(file: string): Promise<ImageInfo> {
  const { buf, format } = await readChecked(file);
  return infoOf(file, buf, format);
}

const cleanSharp = (e: unknown): string => String((e as Error).message ?? e).split('\n')[0].trim();

/**
 * Decode an image to interleaved 8-bit RGB (or gray / RGBA with `channels`). Alpha is dropped
 * unless channels is 4. EXIF orientation is not applied (as PIL), so masks stay aligned.
 */
export async function readImage(file: string, opts: ReadOptions & { channels?: 1 | 3 | 4 } = {}): Promise<ImageBuffer> {
  return decodeChecked(file, await openChecked(file, opts), opts.channels ?? 3);
}

/**
 * readImage for bytes already in memory (an upload): `name` is what errors call them. The same
 * checks: a supported format by content, the pixel limit from the header, a clean decode.
 */
export async function decodeImage(buf: Buffer, name: string, opts: ReadOptions & { channels?: 1 | 3 | 4 } = {}): Promise<ImageBuffer> {
  return decodeChecked(name, await limitChecked(name, buf, checkedFormat(name, buf), opts), opts.channels ?? 3);
}

async function decodeChecked(file: string, { buf, format, maxPixels }: { buf: Buffer; format: ImageFormat; maxPixels: number }, channels: 1 | 3 | 4): Promise<ImageBuffer> {
  try {
    let p = decoder(buf, maxPixels);
    p = channels === 4 ? p.ensureAlpha().toColourspace('srgb') : p.removeAlpha().toColourspace(channels === 1 ? 'b-w' : 'srgb');
    const { data, info: out } = await p.raw().toBuffer({ resolveWithObject: true });
    if (out.channels !== channels) throw new Error(`decoded ${out.channels} channels, expected ${channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: out.width, height: out.height, channels };
  } catch (e) {
    throw decodeError(file, format, e);
  }
}

/**
 * Decode a single-channel mask keeping the stored values: 8- or 16-bit gray as is, palette PNGs
 * as palette INDICES (not colours), 1/2/4-bit gray unscaled. RGB files whose three channels are
 * equal are taken as gray; real colour masks are refused (read them with maskMode 'rgb').
 */
export async function readMask(file: string, opts: ReadOptions = {}): Promise<MaskBuffer> {
  const { buf, format, info, maxPixels } = await openChecked(file, opts);
  let data: Uint8Array | Uint16Array, channels: number;
  const { width, height } = info;
  if (format === 'png') {
    try {
      const png = decodePng(buf);
      (data = png.samples), (channels = png.channels);
    } catch (e) {
      if (e instanceof PngFormatError) throw new BadFileError(file, `corrupt PNG: ${e.message}`);
      throw e;
    }
  } else {
    try {
      const wide = info.bitDepth === 16;
      const gray = info.channels <= 2;
      let p = decoder(buf, maxPixels);
      if (gray) p = p.toColourspace(wide ? 'grey16' : 'b-w');
      const out = await p.raw(wide ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
      channels = out.info.channels;
      data = wide ? new Uint16Array(out.data.buffer.slice(out.data.byteOffset, out.data.byteOffset + out.data.length)) : new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
    } catch (e) {
      throw decodeError(file, format, e);
    }
  }
  return { data: toSingleChannel(file, data, width, height, channels), width, height };
}

// Gray(+alpha) → channel 0; RGB(A) → channel 0 when R = G = B everywhere, else an error.
function toSingleChannel(file: string, data: Uint8Array | Uint16Array, width: number, height: number, channels: number): Uint8Array | Uint16Array {
  if (channels === 1) return data;
  const n = width * height;
  const out = data instanceof Uint16Array ? new Uint16Array(n) : new Uint8Array(n);
  const colour = channels >= 3;
  let colours = 0;
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    out[i] = data[p];
    if (colour && (data[p] !== data[p + 1] || data[p] !== data[p + 2])) colours++;
  }
  if (colours > 0) {
    throw new Error(`${file}: this mask is a colour image (${colours} pixels have R, G, B not all equal), not class ids; read it with maskMode 'rgb' and a label map with \`colors\` (or a palette)`);
  }
  return out;
}

export interface EncodeOptions {
  /** JPEG/WebP quality 1..100 (default 90). */
  quality?: number;
  /** PNG masks: write a palette PNG with these colours (index = train id). */
  palette?: Array<[number, number, number]>;
}

/** Encode an image (8-bit, 1-4 channels) or a mask (Uint8/Uint16 ids) to bytes. */
export async function encodeImage(img: ImageBuffer | MaskBuffer, format: ImageFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  const channels = ('channels' in img ? img.channels : 1) as 1 | 2 | 3 | 4;
  if (format === 'png') return encodePng({ data: img.data, width: img.width, height: img.height, channels, palette: opts.palette });
  if (img.data instanceof Uint16Array) throw new Error(`16-bit data can only be written as PNG, not ${format}`);
  const p = sharp(img.data, { raw: { width: img.width, height: img.height, channels } });
  const quality = opts.quality ?? 90;
  if (format === 'jpeg') return p.jpeg({ quality }).toBuffer();
  if (format === 'webp') return p.webp({ quality }).toBuffer();
  return p.tiff({ compression: 'lzw' }).toBuffer();
}

/** Atomically write an image or mask; the format comes from the extension. */
export async function writeImage(file: string, img: ImageBuffer | MaskBuffer, opts: EncodeOptions = {}): Promise<void> {
  const format = EXT_FORMAT[extname(file).toLowerCase()];
  if (!format) throw new Error(`${file}: unknown image extension; use .png, .jpg, .webp or .tif`);
  await writeAtomic(file, await encodeImage(img, format, opts));
}

