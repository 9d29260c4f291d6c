// COCO results files: predictions → [{image_id, category_id, bbox | segmentation, score}] with
// masks as compressed RLE strings (what pycocotools' encode writes, so other COCO tools read
// them), written atomically; results and ground-truth files read back with checks that name
// the file and the entry.
import { readFile } from 'node:fs/promises';
import { rleEncode, rleToString } from '../../data/sources/rle.js';
import { BadFileError } from '../../io/image.js';
import { writeAtomic } from '../../io/atomic.js';
import type { CocoGroundTruth, CocoResult, CocoRle, IouType } from './types.js';

/**
 * A row-major (H, W) mask (nonzero = inside) → COCO compressed RLE. Probability masks are
 * thresholded first (torchvision's reference evaluation keeps mask > 0.5).
 */
export function encodeMask(mask: Uint8Array, height: number, width: number): CocoRle {
  if (mask.length !== height * width) throw new Error(`mask has ${mask.length} values, but ${height}x${width} needs ${height * width}`);
  return { size: [height, width], counts: rleToString(rleEncode(mask, height, width).counts) };
}

/** One image's detections, as a detector returns them. */
export interface ImageDetections {
  imageId: number;
  boxes: ArrayLike<number>; // (N, 4) x1, y1, x2, y2, row-major
  scores: ArrayLike<number>; // (N)
  labels: ArrayLike<number>; // (N) contiguous labels 1..K (0 is background)
  masks?: readonly Uint8Array[]; // N row-major (H, W) masks pasted into the image, nonzero inside (thresholded)
  height?: number; // image size, needed with masks
  width?: number;
}

/**
 * Detections → COCO results for one iouType: boxes as [x, y, w, h] for 'bbox', compressed RLE
 * masks for 'segm' (without a bbox, so pycocotools takes each detection's area from its mask).
 * `categoryIds[label - 1]` is the COCO category id of a label; segkit's COCO reader numbers
 * categories by ascending id, so that is the sorted list of the file's category ids.
 */
export function toCocoResults(dets: readonly ImageDetections[], categoryIds: readonly number[], iouType: IouType): CocoResult[] {
  const out: CocoResult[] = [];
  for (const d of dets) {
    const n = d.scores.length;
    if (d.boxes.length !== 4 * n || d.labels.length !== n) throw new Error(`image ${d.imageId}: ${n} scores but ${d.boxes.length / 4} boxes and ${d.labels.length} labels`);
    if (iouType === 'segm' && (!d.masks || d.masks.length !== n || !d.height || !d.width)) {
      throw new Error(`image ${d.imageId}: segm results need one mask per detection and the image's height and width`);
    }
    for (let i = 0; i < n; i++) {
      const cat = categoryIds[d.labels[i] - 1];
      if (cat === undefined) throw new Error(`image ${d.imageId}: label ${d.labels[i]} has no category id (categoryIds has ${categoryIds.length}, for labels 1..${categoryIds.length})`);
      const r: CocoResult = { image_id: d.imageId, category_id: cat, score: d.scores[i] };
      if (iouType === 'bbox') {
        const [x1, y1, x2, y2] = [0, 1, 2, 3].map((j) => d.boxes[4 * i + j]);
        r.bbox = [x1, y1, x2 - x1, y2 - y1];
      } else {
        r.segmentation = encodeMask(d.masks![i], d.height!, d.width!);
      }
      out.push(r);
    }
  }
  return out;
}

/** Write results as a COCO results JSON file (atomically). */
export async function writeCocoResults(file: string, results: readonly CocoResult[]): Promise<void> {
  await writeAtomic(file, JSON.stringify(results));
}

/** Read a COCO results JSON file, checking each entry's fields. */
export async function readCocoResults(file: string): Promise<CocoResult[]> {
  const json = await readJson(file, 'COCO results');
  if (!Array.isArray(json)) throw new BadFileError(file, 'a COCO results file is a JSON array of {image_id, category_id, bbox | segmentation, score}');
  json.forEach((r: Partial<CocoResult>, i) => {
    const bad = (what: string) => new BadFileError(file, `result ${i}: ${what}`);
    if (typeof r !== 'object' || r === null) throw bad('is not an object');
    for (const k of ['image_id', 'category_id', 'score'] as const) if (typeof r[k] !== 'number') throw bad(`\`${k}\` must be a number, got ${JSON.stringify(r[k])}`);
    if (r.bbox === undefined && r.segmentation === undefined) throw bad('has neither `bbox` nor `segmentation`');
    if (r.bbox !== undefined && (!Array.isArray(r.bbox) || r.bbox.length !== 4)) throw bad('`bbox` must be [x, y, w, h]');
  });
  return json as CocoResult[];
}

/** Read a COCO instances file (images, annotations, categories) for evaluation. */
export async function readCocoGroundTruth(file: string): Promise<CocoGroundTruth> {
  const json = (await readJson(file, 'COCO annotations')) as Partial<CocoGroundTruth>;
  for (const k of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(json?.[k])) throw new BadFileError(file, `not a COCO instances file: the \`${k}\` array is missing`);
  }
  return json as CocoGroundTruth;
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new BadFileError(file, `cannot read ${what}: ${(e as Error).message}`);
  }
}
