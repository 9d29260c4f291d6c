// `segkit predict` for an instance model (Mask R-CNN): each image file detected at its own size,
// then, as asked, the image with masks, boxes, labels and scores drawn (<name>_overlay.png), one
// 0/255 PNG per instance (<name>_<k>_<class>.png) and, for all inputs together, one COCO results
// file (detections.json, every detection whatever its score) with images.json naming the files
// behind its image ids. Outputs mirror the inputs' folders below their common parent.
import { mkdirSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { inferenceMode, runAsync, tensor, tidy, type Tensor } from '../../torch/index.js';
import type { Module } from '../../nn/index.js';
import type { ImageBuffer } from '../../data/types.js';
import type { Palette } from '../../data/overlay.js';
import { readImage } from '../../io/image.js';
import { writeAtomic } from '../../io/atomic.js';
import type { Detection } from '../../models/detection/types.js';
import { commonRoot } from '../files.js';
import { readDetection, selectByScore, type DetectionArrays } from './detections.js';
import { encodeDetections, writeCocoDetectionFile, writeDrawnDetections, writeInstanceMasks, type EncodedDetections } from './files.js';

export const INSTANCE_OUTPUTS = ['overlay', 'instances', 'coco'] as const;
export type InstanceOutput = (typeof INSTANCE_OUTPUTS)[number];

export interface PredictInstancesOptions {
  outDir: string;
  /** What to write (default overlay and instances). */
  save?: InstanceOutput[];
  /** Class names by label (index 0 the background). */
  classNames?: readonly string[];
  palette?: Palette;
  /** Detections drawn and written as PNGs score at least this (default 0.5); the COCO file keeps all. */
  scoreThreshold?: number;
  /** 'cpu' (default), 'cuda:0', ... where the model is. */
  device?: string;
  onImage?: (done: PredictedInstances, index: number, total: number) => void;
}

export interface PredictedInstances {
  file: string;
  /** Files written for it. */
  outputs: string[];
  /** Detections scoring at least the threshold (boxes, labels, scores; the masks are in the files). */
  kept: Omit<DetectionArrays, 'masks'>;
  /** Every detection's score. */
  all: number;
}

/** A (3, H, W) float tensor in 0..1 of an RGB image, as a detector takes it. */
function imageTensor(image: ImageBuffer): Tensor {
  const { width: W, height: H } = image;
  return tidy(() => tensor(image.data, { shape: [H, W, 3] }).permute([2, 0, 1]).to({ dtype: 'float32' }).div(255).contiguous());
}

/** Detections of one image (all of them), read into arrays. */
async function detectImage(model: Module, image: ImageBuffer, device: string): Promise<DetectionArrays> {
  const x = imageTensor(image);
  try {
    const [det] = await runAsync(() =>
      inferenceMode(() => {
        const input = device === 'cpu' ? x : x.to({ device });
        const out = (model as Module & { call(images: Tensor[]): Detection[] }).call([input]);
        if (input !== x) input.dispose();
        return out;
      }),
    );
    try {
      return readDetection(det!);
    } finally {
      for (const t of [det!.boxes, det!.labels, det!.scores, det!.masks]) t?.dispose();
    }
  } finally {
    x.dispose();
  }
}

/** Runs `model` (a detector in eval mode) on each file and writes what `save` asks for. */
export async function predictInstanceFiles(model: Module, files: string[], opts: PredictInstancesOptions): Promise<PredictedInstances[]> {
  const save = new Set<string>(opts.save ?? ['overlay', 'instances']);
  for (const s of save) if (!(INSTANCE_OUTPUTS as readonly string[]).includes(s)) throw new Error(`unknown output '${s}' for an instance model; choose from ${INSTANCE_OUTPUTS.join(', ')}`);
  if (files.length === 0) return [];
  const abs = files.map((f) => resolve(f));
  const root = commonRoot(abs);
  const threshold = opts.scoreThreshold ?? 0.5;
  const results: PredictedInstances[] = [];
  const coco: EncodedDetections[] = [];
  const cocoImages: Array<{ id: number; file_name: string; width: number; height: number }> = [];
  for (const [index, file] of abs.entries()) {
    const image = await readImage(file, { channels: 3 });
    const all = await detectImage(model, image, opts.device ?? 'cpu');
    const kept = selectByScore(all, threshold);
    const out = join(opts.outDir, relative(root, file).slice(0, -extname(file).length));
    mkdirSync(dirname(out), { recursive: true });
    const written: string[] = [];
    if (save.has('overlay')) {
      await writeDrawnDetections(`${out}_overlay.png`, image, kept, { classNames: opts.classNames, ...(opts.palette ? { palette: opts.palette } : {}) });
      written.push(`${out}_overlay.png`);
    }
    if (save.has('instances')) {
      if (!kept.masks) throw new Error(`${file}: the model gives boxes without masks, so there are no instance PNGs to write; use --save overlay,coco`);
      written.push(...(await writeInstanceMasks(dirname(out), basename(out), kept, opts.classNames)));
    }
    if (save.has('coco')) {
      coco.push(encodeDetections(index + 1, all));
      cocoImages.push({ id: index + 1, file_name: relative(opts.outDir, file), width: image.width, height: image.height });
    }
    // the masks are not kept: many images' full-size masks would fill the memory
    const done = { file: files[index]!, outputs: written, kept: { boxes: kept.boxes, labels: kept.labels, scores: kept.scores }, all: all.scores.length };
    results.push(done);
    opts.onImage?.(done, index, files.length);
  }
  if (save.has('coco')) await writeCocoFiles(opts.outDir, coco, cocoImages, opts.classNames);
  return results;
}

/**
 * detections.json: a COCO results array with a bbox and, with masks, an RLE segmentation per
 * detection (category_id = the model's label); images.json: the image ids' files and sizes
 * and the categories, the skeleton of a COCO ground-truth file for other COCO tools.
 */
async function writeCocoFiles(outDir: string, images: EncodedDetections[], cocoImages: object[], classNames?: readonly string[]): Promise<void> {
  const labels = Math.max(0, ...images.flatMap((r) => Array.from(r.labels)), (classNames?.length ?? 1) - 1);
  const categoryIds = Array.from({ length: labels }, (_, i) => i + 1);
  await writeCocoDetectionFile(join(outDir, 'detections.json'), images, categoryIds);
  const categories = categoryIds.map((id) => ({ id, name: classNames?.[id] ?? `class ${id}` }));
  await writeAtomic(join(outDir, 'images.json'), JSON.stringify({ images: cocoImages, categories }, null, 1) + '\n');
}
