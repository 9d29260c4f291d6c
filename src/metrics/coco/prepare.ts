// Ground truths and detections grouped by (image, category), as pycocotools' loadRes and
// COCOeval._prepare leave them: detections get ids 1..N in file order and an area (the box's
// w*h when the first result has a bbox, else the mask's pixel count); masks become RLE only for
// segm; every list keeps file order (score ties are broken by it later).
import type { Rle } from '../../data/sources/rle.js';
import { rleArea } from '../../data/sources/rle.js';
import { rleToBbox, segmentationToRle } from './masks.js';
import type { CocoGroundTruth, CocoResult, CocoSegmentation, IouType } from './types.js';

export interface Item {
  id: number;
  area: number;
  box: readonly number[]; // [x, y, w, h]
  crowd: boolean; // always false for detections
  score: number; // 0 for gts
  rle?: Rle; // segm only
}

/** (image id → category id → items), only for the evaluated images and categories. */
export type Groups = Map<number, Map<number, Item[]>>;

const where = (i: number, r: { image_id?: unknown }) => `result ${i} (image_id ${String(r.image_id)})`;

export function groupGroundTruth(gt: CocoGroundTruth, imgIds: ReadonlySet<number>, catIds: ReadonlySet<number>, iouType: IouType): Groups {
  const size = imageSizes(gt);
  const groups: Groups = new Map();
  for (const a of gt.annotations) {
    if (!imgIds.has(a.image_id) || !catIds.has(a.category_id)) continue;
    if (typeof a.area !== 'number') throw new Error(`ground-truth annotation ${a.id} has no numeric \`area\`; COCO evaluation sorts objects into small/medium/large by it`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4) throw new Error(`ground-truth annotation ${a.id} has no bbox [x, y, w, h]`);
    const item: Item = { id: a.id, area: a.area, box: a.bbox, crowd: !!a.iscrowd, score: 0 };
    if (iouType === 'segm') item.rle = toRle(a.segmentation, size.get(a.image_id)!, `ground-truth annotation ${a.id}`);
    push(groups, a.image_id, a.category_id, item);
  }
  return groups;
}

export function groupResults(gt: CocoGroundTruth, results: readonly CocoResult[], imgIds: ReadonlySet<number>, catIds: ReadonlySet<number>, iouType: IouType): Groups {
  const size = imageSizes(gt);
  // loadRes picks one reading for the whole file from its first result.
  const boxes = results.length > 0 && Array.isArray(results[0].bbox) && results[0].bbox.length > 0;
  const groups: Groups = new Map();
  results.forEach((r, i) => {
    const hw = size.get(r.image_id);
    if (!hw) throw new Error(`${where(i, r)}: no image with this id in the ground truth; results must be for its images`);
    if (typeof r.score !== 'number' || Number.isNaN(r.score)) throw new Error(`${where(i, r)}: score ${String(r.score)} is not a number`);
    if (!imgIds.has(r.image_id) || !catIds.has(r.category_id)) return;
    const item: Item = { id: i + 1, area: 0, box: [], crowd: false, score: r.score };
    if (boxes) {
      if (!Array.isArray(r.bbox) || r.bbox.length !== 4) throw new Error(`${where(i, r)}: bbox must be [x, y, w, h] (the first result has one, so every result needs one)`);
      const [x, y, w, h] = r.bbox;
      item.box = r.bbox;
      item.area = w * h;
      // Without a mask, segm evaluates the box as the polygon loadRes makes of it.
      if (iouType === 'segm') item.rle = toRle(r.segmentation ?? [[x, y, x, y + h, x + w, y + h, x + w, y]], hw, where(i, r));
    } else {
      if (!r.segmentation) throw new Error(`${where(i, r)}: needs a bbox or a segmentation`);
      const rle = toRle(r.segmentation, hw, where(i, r));
      item.area = rleArea(rle);
      item.box = r.bbox ?? rleToBbox(rle);
      if (iouType === 'segm') item.rle = rle;
    }
    push(groups, r.image_id, r.category_id, item);
  });
  return groups;
}

function imageSizes(gt: CocoGroundTruth): Map<number, [number, number]> {
  return new Map(gt.images.map((im) => [im.id, [im.height, im.width]]));
}

function toRle(seg: CocoSegmentation | undefined, [h, w]: [number, number], what: string): Rle {
  if (!seg) throw new Error(`${what} has no segmentation, which segm evaluation needs (use iouType 'bbox')`);
  try {
    return segmentationToRle(seg, h, w);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

function push(groups: Groups, img: number, cat: number, item: Item): void {
  let byCat = groups.get(img);
  if (!byCat) groups.set(img, (byCat = new Map()));
  const list = byCat.get(cat);
  if (list) list.push(item);
  else byCat.set(cat, [item]);
}
