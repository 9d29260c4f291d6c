// What the server tests share: a small random-init UNet saved as segkit train saves it (model,
// options, classes and normalisation in the safetensors metadata), loaded as `segkit serve` loads
// it; 64x64 test images; what `segkit predict`'s code writes for the same image; a model wrapper
// that holds the JS thread for a while in its forward, as a large model does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { Module } from '../../src/nn/index.js';
import { create } from '../../src/models/index.js';
import { saveWeights } from '../../src/io/index.js';
import { readImage, readMask } from '../../src/io/image.js';
import { loadModel } from '../../src/cli/model-options.js';
import { predictFiles } from '../../src/predict/index.js';
import { moduleForward } from '../../src/predict/forward.js';
import type { ServedModel } from '../../src/serve/index.js';
import type { ImageBuffer, MaskBuffer } from '../../src/data/types.js';

export const SIZE = 64;
export const CLASSES = ['background', 'disc', 'square'];
const UNET = { numClasses: 3, baseWidth: 8, depth: 2 };

/** Writes the small UNet to `dir`/unet.safetensors and returns its path. */
export function writeModel(dir: string, seed = 0): string {
  torch.manualSeed(seed);
  const model = create('unet', UNET);
  // a fresh UNet's biases outweigh its features (one class everywhere); without them the test
  // images get all three classes
  torch.noGrad(() => model.namedParameters().forEach(([name, p]) => name.endsWith('bias') && p.zero_()));
  const file = join(dir, 'unet.safetensors');
  saveWeights(model, file, {
    'segkit.model': 'unet',
    'segkit.options': JSON.stringify(UNET),
    'segkit.classes': JSON.stringify(CLASSES),
    'segkit.normalize': JSON.stringify({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }),
  });
  model.dispose();
  return file;
}

/** The model as `segkit serve --weights file` loads it. */
export async function served(weights: string): Promise<ServedModel> {
  const loaded = await loadModel({ weights, overlap: 1 / 3, threshold: 0.5 });
  return { ...loaded, name: 'unet' };
}

/** A 64x64 RGB test image: dark left half, bright right half, and deterministic noise. */
export function testPixels(seed: number, size = SIZE): Buffer {
  const b = Buffer.alloc(size * size * 3);
  let x = (seed + 1) * 2654435761;
  for (let i = 0; i < b.length; i++) {
    const col = Math.floor(i / 3) % size;
    const noise = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 26; // 0..63
    b[i] = (col < size / 2 ? 40 : 180) + noise;
  }
  return b;
}

export const encode = (pixels: Buffer, format: 'png' | 'jpeg', size = SIZE): Promise<Buffer> => {
  const s = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  return (format === 'png' ? s.png() : s.jpeg({ quality: 90 })).toBuffer();
};

/** What `segkit predict --save mask,color,overlay` writes for `bytes` (saved as `name`), read back. */
export async function predicted(weights: string, dir: string, name: string, bytes: Buffer): Promise<{ image: ImageBuffer; mask: MaskBuffer; color: ImageBuffer; overlay: ImageBuffer }> {
  const file = join(dir, 'in', name);
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(file, bytes);
  const out = join(dir, 'predicted');
  const { forward, normalize, palette, inference, dispose } = await loadModel({ weights, overlap: 1 / 3, threshold: 0.5 });
  try {
    await predictFiles(forward, [file], { outDir: out, save: ['mask', 'color', 'overlay'], normalize, palette, inference });
  } finally {
    await dispose();
  }
  const base = join(out, name.replace(/\.\w+$/, ''));
  return {
    image: await readImage(file),
    mask: await readMask(`${base}.png`),
    color: await readImage(`${base}_color.png`),
    overlay: await readImage(`${base}_overlay.png`),
  };
}

/** Decoded pixels of a PNG answer. */
export const pngPixels = async (png: Buffer, channels: 1 | 3): Promise<number[]> =>
  Array.from(await sharp(png).toColourspace(channels === 1 ? 'b-w' : 'srgb').removeAlpha().raw().toBuffer());

/**
 * Wraps a model; while `ms` > 0 each forward first holds the JS thread that long (as a large model
 * on a slow machine does) and counts itself in `calls`.
 */
export class SlowModel extends Module {
  declare inner: Module;
  declare ms: number;
  declare calls: number;

  constructor(inner: Module) {
    super();
    this.inner = inner;
    this.ms = 0;
    this.calls = 0;
  }

  override forward(x: torch.Tensor): unknown {
    if (this.ms > 0) {
      this.calls++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.ms);
    }
    return (this.inner as Module & { call(x: torch.Tensor): unknown }).call(x);
  }
}

/** `served` with its model wrapped in a SlowModel (disposing the served model frees the wrapped one). */
export async function slowServed(weights: string): Promise<{ served: ServedModel; slow: SlowModel }> {
  const s = await served(weights);
  const slow = new SlowModel(s.model!);
  slow.eval();
  return { served: { ...s, model: slow, forward: moduleForward(slow) }, slow };
}
