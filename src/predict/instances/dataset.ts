// An instance model evaluated over a dataset, as `segkit eval` runs it: every image detected at
// its own size (unaugmented), the detections kept as COCO results, and COCO bbox and segm AP
// (pycocotools' numbers) with a per-class AP. The ground truth is the dataset's COCO file itself
// when its samples come from one (its annotations of those image ids, as the file says them);
// otherwise, or when a decoded image is not the size its file states, the decoded instances
// become the ground truth as training's validation builds it (cocoEvaluator's annotationsOf).
import { existsSync } from 'node:fs';
import { inferenceMode, runAsync, tidy } from '../../torch/index.js';
import type { Module } from '../../nn/index.js';
import { DataLoader } from '../../data/loader.js';
import type { SegDataset } from '../../data/dataset.js';
import { COCO_META_KEY, type CocoMeta } from '../../data/sources/coco.js';
import type { Batch } from '../../data/types.js';
import { makeGrid, encodePng } from '../../data/preview.js';
import { toDisplay } from '../../data/overlay.js';
import { evaluateCoco, readCocoGroundTruth, type CocoEvalResult, type CocoGroundTruth, type IouType } from '../../metrics/coco/index.js';
import { annotationsOf, detectBatch, truthArrays } from './batch.js';
import { readDetection, selectByScore, type DetectionArrays } from './detections.js';
import { drawDetections, type DrawOptions } from './draw.js';
import { cocoDetectionsOf, encodeDetections, type EncodedDetections } from './files.js';

export interface InstanceEvaluationOptions {
  /** 'cpu' (default), 'cuda:0', ... where the model is. */
  device?: string;
  /** Image | detections | truth panels of the first `panels` images (default 0), for reports. */
  panels?: number;
  /** Panels draw the detections scoring at least this (default 0.5). */
  scoreThreshold?: number;
  /** Colours of the panels (default VOC's). */
  draw?: Pick<DrawOptions, 'palette'>;
  onImage?: (index: number, total: number) => void;
}

export interface ClassAp {
  label: number;
  name: string;
  /** AP at IoU .50:.95 and at .50, all areas, 100 detections; -1 where the class has no objects. */
  segm?: { AP: number; AP50: number };
  bbox: { AP: number; AP50: number };
}

export interface InstanceEvaluation {
  /** Each evaluated image's detections (all of them, masks thresholded at 0.5 and RLE-encoded) under its COCO image id. */
  images: EncodedDetections[];
  /** What the detections were scored against. */
  groundTruth: CocoGroundTruth;
  /** COCO category id of each label (categoryIds[label - 1]). */
  categoryIds: number[];
  /** The annotation file used as ground truth, or undefined for the decoded instances. */
  groundTruthFile?: string;
  /** 'bbox', and 'segm' for a model with masks. */
  results: Partial<Record<IouType, CocoEvalResult>>;
  perClass: ClassAp[];
  /** Images the dataset skipped (onBadFile: skip), with the reason. */
  skipped: Array<{ id: string; reason: string }>;
  panels: { caption: string; png: Uint8Array }[];
}

const cocoMetaOf = (batch: Batch, i: number): CocoMeta | undefined => {
  const json = batch.refs[i]?.meta?.[COCO_META_KEY];
  return json === undefined ? undefined : (JSON.parse(json) as CocoMeta);
};

/** Detects every image of `dataset` with `model` (a Mask R-CNN in eval mode) and scores the detections. */
export async function evaluateInstances(model: Module, dataset: SegDataset, classNames: readonly string[], opts: InstanceEvaluationOptions = {}): Promise<InstanceEvaluation> {
  const device = opts.device ?? 'cpu';
  // ground truth built from the decoded instances (image ids 1..N, category ids the data's labels), and the source file's image ids
  const dataClasses = dataset.classes ?? classNames;
  const decoded: CocoGroundTruth = { images: [], annotations: [], categories: dataClasses.slice(1).map((name, i) => ({ id: i + 1, name })) };
  const fileIds: number[] = [];
  const files = new Set<string>();
  let fileUsable = true;
  const images: EncodedDetections[] = [];
  const panels: InstanceEvaluation['panels'] = [];
  const loader = new DataLoader(dataset, { batchSize: 1, imageList: true, transform: [] });
  try {
    for await (const batch of loader) {
      // tidy: the batch's input tensors go, the detections (returned) stay
      const dets = await runAsync(() => inferenceMode(() => tidy(() => detectBatch(model, batch, { device }))));
      const [, H, W] = batch.list![0]!.shape;
      const imageId = decoded.images.length + 1;
      let detections: DetectionArrays;
      try {
        detections = readDetection(dets[0]!);
      } finally {
        for (const d of dets) for (const t of [d.boxes, d.labels, d.scores, d.masks]) t?.dispose();
      }
      // masks kept as RLE: a large dataset's full-size masks would not fit in memory
      images.push(encodeDetections(imageId, detections));
      if (panels.length < (opts.panels ?? 0)) {
        const draw = { ...opts.draw, classNames };
        const { image: data, shape: [C] } = batch.list![0]!;
        const image = toDisplay(data, C, H, W, undefined);
        const tiles = [image, await drawDetections(image, selectByScore(detections, opts.scoreThreshold ?? 0.5), draw), await drawDetections(image, truthArrays(batch.instances?.[0] ?? [], H, W), draw)];
        panels.push({ caption: `${batch.refs[0]!.id}: image | detections | truth`, png: await encodePng(makeGrid(tiles, 3)) });
      }
      decoded.images.push({ id: imageId, height: H, width: W, file_name: batch.refs[0]!.imagePath });
      decoded.annotations.push(...annotationsOf(batch.instances?.[0] ?? [], imageId, H, W, decoded.annotations.length + 1));
      const meta = cocoMetaOf(batch, 0);
      if (meta && meta.width === W && meta.height === H && existsSync(meta.file)) {
        fileIds.push(meta.imageId);
        files.add(meta.file);
      } else fileUsable = false;
      opts.onImage?.(images.length - 1, dataset.length);
    }
  } finally {
    await loader.close();
  }
  if (images.length === 0) throw new Error('no image of the dataset could be evaluated');

  let gt = decoded;
  let groundTruthFile: string | undefined;
  let evaluated = images;
  if (fileUsable && files.size === 1) {
    groundTruthFile = [...files][0]!;
    gt = await readCocoGroundTruth(groundTruthFile);
    evaluated = images.map((r, i) => ({ ...r, imageId: fileIds[i]! }));
  }
  const { categoryIds, labels } = categoryMapping(gt, classNames, groundTruthFile);
  // detections of labels the ground truth has no category for (torchvision's 'N/A') are left out
  if (labels.length < classNames.length - 1) {
    evaluated = evaluated.map((r) => selectLabels(r, new Set(labels)));
  }
  const results = scoreDetections(gt, evaluated, categoryIds);
  // the per-class rows follow the evaluated categories (sorted ids, as COCOeval orders them)
  const sorted = results.bbox!.params.categoryIds;
  const perClass = sorted.map((id, k): ClassAp => {
    const label = labels.find((l) => categoryIds[l - 1] === id)!;
    return {
      label,
      name: classNames[label] ?? `class ${label}`,
      bbox: classAp(results.bbox!, k),
      ...(results.segm ? { segm: classAp(results.segm, k) } : {}),
    };
  });
  return { images: evaluated, groundTruth: gt, categoryIds, groundTruthFile, results, perClass, skipped: dataset.skipped.map((s) => ({ id: s.ref.id, reason: s.reason })), panels };
}

/**
 * The COCO category id of each label (`categoryIds[label - 1]`) and the labels that have one.
 * A model with one class per category (segkit's COCO reader numbers the categories by ascending
 * id) maps in that order; a model with other classes (torchvision's 91 COCO labels) maps by
 * class name, when every category's name is one of the model's classes.
 */
function categoryMapping(gt: CocoGroundTruth, classNames: readonly string[], file: string | undefined): { categoryIds: number[]; labels: number[] } {
  const cats = [...gt.categories].sort((a, b) => a.id - b.id);
  const K = classNames.length - 1;
  if (cats.length === K) return { categoryIds: cats.map((c) => c.id), labels: cats.map((_, i) => i + 1) };
  const labelOf = new Map(classNames.map((n, l) => [n, l] as const).filter(([, l]) => l > 0));
  const missing = cats.filter((c) => !labelOf.has(c.name));
  if (missing.length > 0) {
    throw new Error(
      `the model has ${K} classes besides the background but the ground truth${file ? ` (${file})` : ''} has ${cats.length} categories, ` +
        `and ${missing.slice(0, 3).map((c) => `'${c.name}'`).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} ${missing.length > 1 ? 'are' : 'is'} not among its classes; evaluate a model trained on this dataset's categories`,
    );
  }
  const categoryIds: number[] = [];
  for (const c of cats) categoryIds[labelOf.get(c.name)! - 1] = c.id;
  return { categoryIds, labels: cats.map((c) => labelOf.get(c.name)!) };
}

/** The detections whose label is in `keep`, in their order. */
function selectLabels(d: EncodedDetections, keep: ReadonlySet<number>): EncodedDetections {
  const idx = Array.from(d.labels.keys()).filter((k) => keep.has(d.labels[k]!));
  return {
    imageId: d.imageId,
    boxes: Float32Array.from(idx.flatMap((k) => Array.from(d.boxes.subarray(4 * k, 4 * k + 4)))),
    labels: Int32Array.from(idx.map((k) => d.labels[k]!)),
    scores: Float32Array.from(idx.map((k) => d.scores[k]!)),
    ...(d.rles ? { rles: idx.map((k) => d.rles![k]!) } : {}),
  };
}

/**
 * COCO bbox evaluation, and segm when every image has masks, of the images' detections (an image
 * without detections still counts, its objects missed). Segm results carry the mask alone, so
 * each detection's area is its mask's, as pycocotools' loadRes takes it.
 */
function scoreDetections(gt: CocoGroundTruth, images: readonly EncodedDetections[], categoryIds: readonly number[]): Partial<Record<IouType, CocoEvalResult>> {
  const imageIds = images.map((r) => r.imageId);
  const results = cocoDetectionsOf(images, categoryIds);
  const out: Partial<Record<IouType, CocoEvalResult>> = { bbox: evaluateCoco(gt, results.map(({ segmentation: _, ...r }) => r), { iouType: 'bbox', imageIds }) };
  if (images.every((r) => r.rles)) out.segm = evaluateCoco(gt, results.map(({ bbox: _, ...r }) => r), { iouType: 'segm', imageIds });
  return out;
}

/**
 * One category's AP from COCOeval's precision array: its mean over IoU thresholds (or at .50)
 * and recall points, area 'all', the largest maxDets, as summarize() takes it; -1 when empty.
 */
export function classAp(r: CocoEvalResult, k: number): { AP: number; AP50: number } {
  const p = r.params;
  const T = p.iouThrs.length, R = p.recThrs.length, K = p.categoryIds.length, A = p.areaRng.length, M = p.maxDets.length;
  const mean = (only?: number): number => {
    let sum = 0, n = 0;
    for (let t = 0; t < T; t++) {
      if (only !== undefined && p.iouThrs[t] !== only) continue;
      for (let rr = 0; rr < R; rr++) {
        const v = r.precision[(((t * R + rr) * K + k) * A + 0) * M + (M - 1)]!;
        if (v > -1) {
          sum += v;
          n++;
        }
      }
    }
    return n ? sum / n : -1;
  };
  return { AP: mean(), AP50: mean(0.5) };
}

