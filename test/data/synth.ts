// Tiny synthetic datasets for the data on-ramp tests: 8x8 PNGs written with sharp into temp
// folders, in the layouts and mask encodings users bring.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { encodeImage } from '../../src/io/image.js';

export const S = 8;

/** A distinct noise RGB image per seed (no two seeds look alike, average hashes included). */
export function imagePixels(seed: number): Buffer {
  const b = Buffer.alloc(S * S * 3);
  let x = (seed + 1) * 2654435761;
  for (let i = 0; i < b.length; i++) b[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
}

/** Mask rows striped with `values` (row y gets values[(y + shift) % n]). */
export function stripes(values: number[], shift = 0): Buffer {
  const m = Buffer.alloc(S * S);
  for (let y = 0; y < S; y++) m.fill(values[(y + shift) % values.length], y * S, (y + 1) * S);
  return m;
}

export async function writePng(file: string, data: Buffer, channels: 1 | 3): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await sharp(data, { raw: { width: S, height: S, channels } }).png().toFile(file);
}
export async function writeJpeg(file: string, data: Buffer): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await sharp(data, { raw: { width: S, height: S, channels: 3 } }).jpeg({ quality: 95 }).toFile(file);
}
/** A palette PNG holding indices, with the given colours as its PLTE. */
export async function writePalettePng(file: string, indices: Buffer, palette: Array<[number, number, number]>): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await encodeImage({ data: new Uint8Array(indices), width: S, height: S }, 'png', { palette }));
}
/** An RGB mask painting each index of `indices` in `colours[index]`. */
export function colourMask(indices: Buffer, colours: Array<[number, number, number]>): Buffer {
  const b = Buffer.alloc(S * S * 3);
  for (let i = 0; i < S * S; i++) b.set(colours[indices[i]], i * 3);
  return b;
}

export function tempDir(prefix = 'segkit-onramp-'): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `n` pairs under `root`: images in imageDir/<name>.png, masks from `mask(k)` in maskDir. */
export async function pairs(root: string, imageDir: string, maskDir: string, n: number, mask: (k: number) => Buffer, name = (k: number) => `s${k}`): Promise<void> {
  for (let k = 0; k < n; k++) {
    await writePng(join(root, imageDir, `${name(k)}.png`), imagePixels(k * 7919 + [...root].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 7907, 0)), 3);
    await writePng(join(root, maskDir, `${name(k)}.png`), mask(k), 1);
  }
}
