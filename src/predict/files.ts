// Predicting image files: inputs given as files, folders or globs; for each image the index mask
// (PNG whose values are class ids), a colour mask, an overlay, an image | prediction | truth panel
// and the class probabilities, as asked. Outputs mirror the inputs' relative paths under outDir.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { Tensor, inferenceMode, tensor, tidy, toRaw } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { IMAGE_EXTENSIONS, readImage, writeImage } from '../io/image.js';
import { writeSafetensors } from '../io/safetensors.js';
import { normalizeImage, type NormalizeParams } from '../data/transforms/normalize.js';
import { backgroundSkip, colorizeMask, overlayMask, type Palette } from '../data/overlay.js';
import { makeGrid } from '../data/preview.js';
import type { ImageBuffer, MaskBuffer } from '../data/types.js';
import { classIds, predictProbabilities, type InferenceOptions } from './inference.js';
import { forwardOf, type Forward } from './forward.js';

export const PREDICT_OUTPUTS = ['mask', 'color', 'overlay', 'panel', 'probs'] as const;
export type PredictOutput = (typeof PREDICT_OUTPUTS)[number];

const isImage = (f: string): boolean => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase());

/**
 * The image files named by `inputs`: a file as it is, a folder's images (recursively), a glob's
 * matches (quoted so the shell leaves it). Sorted, without repeats; an input that names no image
 * is an error that says so.
 */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const input of inputs) {
    let files: string[];
    if (existsSync(input) && statSync(input).isFile()) files = [input];
    else if (existsSync(input) && statSync(input).isDirectory()) files = (await glob('**/*', { cwd: input, absolute: true, onlyFiles: true })).filter(isImage);
    else if (/[*?[{]/.test(input)) files = (await glob(input, { absolute: true, onlyFiles: true })).filter(isImage);
    else throw new Error(`${input}: no such file or folder`);
    if (files.length === 0) throw new Error(`${input}: no images found (looked for ${IMAGE_EXTENSIONS.join(' ')})`);
    for (const f of files) found.add(resolve(f));
  }
  return [...found].sort();
}

export interface PredictFilesOptions {
  outDir: string;
  /** What to write per image (default: mask and overlay). */
  save?: PredictOutput[];
  /** Display colours by class id. */
  palette: Palette;
  /** The normalisation the model was trained with (values in [0, 1]). */
  normalize: NormalizeParams;
  inference?: InferenceOptions;
  /** One-channel (sigmoid) models: a pixel is foreground at this probability or above (default 0.5). */
  threshold?: number;
  /** The ground-truth mask of an image, for the panel's third tile (class ids). */
  truth?: (file: string) => Promise<MaskBuffer | undefined>;
  /** Called after each image (progress). */
  onImage?: (done: PredictedImage, index: number, total: number) => void;
}

export interface PredictedImage {
  file: string;
  /** Files written for it. */
  outputs: string[];
  /** Pixels predicted per class id. */
  classPixels: number[];
}

/** The deepest folder holding every one of `files` (absolute paths). */
export function commonRoot(files: string[]): string {
  let root = dirname(files[0]!);
  while (!files.every((f) => f.startsWith(root + sep)) && root !== dirname(root)) root = dirname(root);
  return root;
}

// Output names keep the inputs' folders below their common parent, so equal names cannot collide.
function outputBase(files: string[], outDir: string): (file: string) => string {
  const root = commonRoot(files);
  return (file) => join(outDir, relative(root, file).slice(0, -extname(file).length));
}

/** Class ids (and the probabilities, when asked) for one image, at its own size. */
async function predictImage(forward: Forward, image: ImageBuffer, opts: PredictFilesOptions, keepProbs: boolean): Promise<{ mask: MaskBuffer; probs?: Tensor }> {
  const { width, height } = image;
  const input = normalizeImage(image, opts.normalize);
  const x = tensor(input.data, { shape: [1, input.channels, height, width] });
  let probs: Tensor;
  try {
    probs = await predictProbabilities(forward, x, opts.inference);
  } finally {
    x.dispose();
  }
  try {
    const classes = probs.shape[1]!;
    if (classes > 256) throw new Error(`the model predicts ${classes} classes; index masks hold 256 at most`);
    return inferenceMode(() => tidy(() => {
      const mask: MaskBuffer = { data: Uint8Array.from(classIds(probs, opts.threshold).toArray()), width, height };
      return keepProbs ? { mask, probs: probs.squeeze(0) } : { mask };
    }));
  } finally {
    probs.dispose();
  }
}

/** Runs `model` (a Module in eval mode, or a Forward) on each file and writes what `save` asks for. */
export async function predictFiles(model: Module | Forward, files: string[], opts: PredictFilesOptions): Promise<PredictedImage[]> {
  const save = new Set<string>(opts.save ?? ['mask', 'overlay']);
  for (const s of save) if (!(PREDICT_OUTPUTS as readonly string[]).includes(s)) throw new Error(`unknown output '${s}'; choose from ${PREDICT_OUTPUTS.join(', ')}`);
  if (files.length === 0) return [];
  const base = outputBase(files.map((f) => resolve(f)), opts.outDir);
  const forward = forwardOf(model);
  const results: PredictedImage[] = [];
  for (const [index, file] of files.entries()) {
    const image = await readImage(file, { channels: 3 });
    const { mask, probs } = await predictImage(forward, image, opts, save.has('probs'));
    const out = base(resolve(file));
    mkdirSync(dirname(out), { recursive: true });
    const written: string[] = [];
    const write = async (suffix: string, img: ImageBuffer | MaskBuffer): Promise<void> => {
      await writeImage(`${out}${suffix}.png`, img);
      written.push(`${out}${suffix}.png`);
    };
    const overlay = { skip: backgroundSkip(opts.palette) };
    try {
      if (save.has('mask')) await write('', mask);
      if (save.has('color')) await write('_color', colorizeMask(mask, opts.palette));
      if (save.has('overlay')) await write('_overlay', overlayMask(image, mask, opts.palette, 0.5, overlay));
      if (save.has('panel')) {
        const truth = await opts.truth?.(file);
        const tiles = [image, overlayMask(image, mask, opts.palette, 0.6, overlay)];
        if (truth) tiles.push(overlayMask(image, truth, opts.palette, 0.6, overlay));
        await write('_panel', makeGrid(tiles, tiles.length));
      }
      if (probs) {
        writeSafetensors(`${out}_probs.safetensors`, { probs: toRaw(probs) }, { source: basename(file), layout: 'classes x height x width' });
        written.push(`${out}_probs.safetensors`);
      }
    } finally {
      probs?.dispose();
    }
    const classPixels: number[] = [];
    for (const id of mask.data) classPixels[id] = (classPixels[id] ?? 0) + 1;
    const done = { file, outputs: written, classPixels: Array.from(classPixels, (n) => n ?? 0) };
    results.push(done);
    opts.onImage?.(done, index, files.length);
  }
  return results;
}
