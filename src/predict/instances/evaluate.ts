// COCO evaluation of a detector's results on a COCO dataset: the detections of the given images
// become COCO results (boxes, and masks when the model gives them) and go through evaluateCoco,
// the computation of pycocotools' COCOeval, for bbox and segm.
import { evaluateCoco, type CocoEvalResult } from '../../metrics/coco/evaluate.js';
import type { CocoGroundTruth, IouType } from '../../metrics/coco/types.js';
import { cocoResultsOf, type ImageResult } from './files.js';

export interface EvaluateDetectionsOptions {
  /** Default: 'bbox', and 'segm' when every image's detections carry masks. */
  iouTypes?: readonly IouType[];
  /** COCO category id of each label (index label - 1). Default: the ground truth's category ids, sorted (segkit's COCO source numbers labels so). */
  categoryIds?: readonly number[];
}

/**
 * Evaluate detections of the images `images` (their ids are the evaluated image ids; an image
 * without detections is still counted, with all its objects missed).
 */
export function evaluateDetections(gt: CocoGroundTruth, images: readonly ImageResult[], opts: EvaluateDetectionsOptions = {}): Partial<Record<IouType, CocoEvalResult>> {
  const categoryIds = opts.categoryIds ?? gt.categories.map((c) => c.id).sort((a, b) => a - b);
  const known = new Set(gt.images.map((im) => im.id));
  const missing = images.map((r) => r.imageId).filter((id) => !known.has(id));
  if (missing.length > 0) throw new Error(`evaluateDetections: image id(s) ${missing.slice(0, 5).join(', ')} are not in the ground truth (${gt.images.length} images); give the COCO ids of the dataset's images`);
  const withMasks = images.every((r) => r.detections.masks !== undefined);
  const iouTypes = opts.iouTypes ?? (withMasks ? ['bbox', 'segm'] : ['bbox']);
  const imageIds = images.map((r) => r.imageId);
  const out: Partial<Record<IouType, CocoEvalResult>> = {};
  for (const iouType of iouTypes) {
    if (iouType === 'segm' && !withMasks) throw new Error("evaluateDetections: 'segm' needs masks in every image's detections (a mask head's pasted masks)");
    out[iouType] = evaluateCoco(gt, cocoResultsOf(images, categoryIds, iouType), { iouType, imageIds });
  }
  return out;
}
