// Detections written to files: one 0/255 PNG per instance (<image>_<k>_<class>.png, k its rank
// from 0), a COCO results JSON for a set of images (bbox or segm, what pycocotools' loadRes
// reads), and the drawn image. Every file is written atomically (io/atomic.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageBuffer } from '../../data/types.js';
import { writeImage } from '../../io/image.js';
import { encodeMask, toCocoResults, writeCocoResults } from '../../metrics/coco/results.js';
import type { CocoResult, CocoRle, IouType } from '../../metrics/coco/types.js';
import type { DetectionArrays } from './detections.js';
import { classNameOf, drawDetections, type DrawOptions } from './draw.js';

/** One image's detections and its COCO image id. */
export interface ImageResult {
  imageId: number;
  detections: DetectionArrays;
}

/** A class name made safe for a file name (spaces and separators become '-'). */
const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '-');

/**
 * One PNG per instance mask in `dir`: `<image>_<k>_<class>.png`, 0 outside and 255 inside.
 * Returns the paths, in detection order.
 */
export async function writeInstanceMasks(dir: string, image: string, d: DetectionArrays, classNames?: readonly string[]): Promise<string[]> {
  if (!d.masks || d.height === undefined || d.width === undefined) {
    throw new Error(`writeInstanceMasks: the detections of "${image}" have no masks (a box-only detector); write COCO bbox results instead`);
  }
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let k = 0; k < d.masks.length; k++) {
    const m = d.masks[k]!;
    const data = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) data[i] = m[i] ? 255 : 0;
    const file = join(dir, `${image}_${k}_${fileSafe(classNameOf(d.labels[k]!, classNames))}.png`);
    await writeImage(file, { data, width: d.width, height: d.height });
    paths.push(file);
  }
  return paths;
}

/**
 * The COCO results of a set of images for one iouType. `categoryIds[label - 1]` is a label's
 * COCO category id (for a dataset read by segkit's COCO source: its sorted category ids).
 */
export function cocoResultsOf(images: readonly ImageResult[], categoryIds: readonly number[], iouType: IouType): CocoResult[] {
  return toCocoResults(
    images.map((r) => ({ imageId: r.imageId, ...r.detections })),
    categoryIds,
    iouType,
  );
}

/** Write a COCO results JSON file for a set of images (atomically); returns the results. */
export async function writeCocoDetections(file: string, images: readonly ImageResult[], categoryIds: readonly number[], iouType: IouType): Promise<CocoResult[]> {
  const results = cocoResultsOf(images, categoryIds, iouType);
  await writeCocoResults(file, results);
  return results;
}

/**
 * One image's detections as a COCO results file keeps them: boxes, labels, scores and each mask
 * as compressed RLE, so many images' detections fit in memory without their full-size masks.
 */
export interface EncodedDetections {
  imageId: number;
  boxes: Float32Array; // (K, 4) x1, y1, x2, y2
  labels: Int32Array;
  scores: Float32Array;
  rles?: CocoRle[];
}

/** An image's detections with their masks RLE-encoded (masks absent: boxes only). */
export function encodeDetections(imageId: number, d: DetectionArrays): EncodedDetections {
  const out: EncodedDetections = { imageId, boxes: d.boxes, labels: d.labels, scores: d.scores };
  if (d.masks) out.rles = d.masks.map((m) => encodeMask(m, d.height!, d.width!));
  return out;
}

/**
 * One COCO results entry per detection with its bbox and, when the detections have masks, its
 * RLE segmentation too (detectron2's coco_instances_results.json layout): pycocotools' loadRes
 * reads it for bbox as it is; for segm, drop the bbox keys first (loadRes would otherwise take
 * each area from the box), as detectron2's evaluation does. `categoryIds[label - 1]` is a
 * label's category id.
 */
export function cocoDetectionsOf(images: readonly EncodedDetections[], categoryIds: readonly number[]): CocoResult[] {
  const out: CocoResult[] = [];
  for (const d of images) {
    const boxes = toCocoResults([{ imageId: d.imageId, boxes: d.boxes, labels: d.labels, scores: d.scores }], categoryIds, 'bbox');
    boxes.forEach((r, k) => out.push(d.rles ? { ...r, segmentation: d.rles[k]! } : r));
  }
  return out;
}

/** Write cocoDetectionsOf's results as a COCO results JSON file (atomically); returns them. */
export async function writeCocoDetectionFile(file: string, images: readonly EncodedDetections[], categoryIds: readonly number[]): Promise<CocoResult[]> {
  const results = cocoDetectionsOf(images, categoryIds);
  await writeCocoResults(file, results);
  return results;
}

/** Draw the detections on the image and write it (format from the extension, atomically). */
export async function writeDrawnDetections(file: string, image: ImageBuffer, d: DetectionArrays, opts: DrawOptions = {}): Promise<void> {
  await writeImage(file, await drawDetections(image, d, opts));
}
