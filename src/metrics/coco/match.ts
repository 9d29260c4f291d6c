// Matching one image's detections of one category to its ground truths, per IoU threshold and
// area range, as COCOeval.evaluateImg: detections in score order (ties keep file order), each
// takes the unmatched gt of highest IoU at or above the threshold, preferring gts that count;
// crowd gts can take any number of detections; what matches an ignored gt is ignored, and so is
// an unmatched detection outside the area range.
import type { Item } from './prepare.js';

/** One (image, category, area range) evaluation; arrays over detections are (T, D) row-major. */
export interface ImageEval {
  scores: Float64Array; // (D) in score order
  matched: Uint8Array; // (T, D) 1 where the detection is a true positive candidate
  ignored: Uint8Array; // (T, D)
  gtCounted: number; // gts that are neither crowd nor outside the area range
}

/** Detections sorted by score (a stable sort, as numpy's mergesort) and cut to `maxDet`. */
export function sortDetections(dt: readonly Item[], maxDet: number): Item[] {
  return dt
    .map((d, i) => [d, i] as const)
    .sort((a, b) => b[0].score - a[0].score || a[1] - b[1])
    .slice(0, maxDet)
    .map(([d]) => d);
}

/**
 * `dt` sorted (sortDetections), `ious` (D, G) against `gt` in its given order. A match is
 * recorded, as in pycocotools, by the gt's id: a gt with id 0 matches but counts as no match.
 */
export function evaluateImage(gt: readonly Item[], dt: readonly Item[], ious: Float64Array, iouThrs: readonly number[], areaRng: readonly [number, number]): ImageEval {
  const G = gt.length, D = dt.length, T = iouThrs.length;
  const outside = (area: number) => area < areaRng[0] || area > areaRng[1];
  // gts that count first, ignored ones after (a stable order, as numpy's mergesort argsort)
  const order = [...gt.keys()].sort((a, b) => ign(gt[a]) - ign(gt[b]) || a - b);
  function ign(g: Item): number {
    return g.crowd || outside(g.area) ? 1 : 0;
  }
  const gIgn = order.map((g) => ign(gt[g]));
  const matchedId = new Float64Array(T * D);
  const ignored = new Uint8Array(T * D);
  const gtTaken = new Uint8Array(T * G);
  if (G > 0 && D > 0) {
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        let best = Math.min(iouThrs[t], 1 - 1e-10);
        let m = -1;
        for (let j = 0; j < G; j++) {
          const g = order[j];
          if (gtTaken[t * G + j] && !gt[g].crowd) continue;
          // Once a counted gt is found, ignored gts (all after it) cannot replace it.
          if (m > -1 && gIgn[m] === 0 && gIgn[j] === 1) break;
          const iou = ious[d * G + g];
          if (iou < best) continue;
          best = iou; // ties: the later gt wins, as in pycocotools
          m = j;
        }
        if (m === -1) continue;
        ignored[t * D + d] = gIgn[m];
        matchedId[t * D + d] = gt[order[m]].id;
        gtTaken[t * G + m] = 1;
      }
    }
  }
  const matched = new Uint8Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < D; d++) {
      const k = t * D + d;
      matched[k] = matchedId[k] !== 0 ? 1 : 0;
      if (!matched[k] && outside(dt[d].area)) ignored[k] = 1;
    }
  }
  return { scores: Float64Array.from(dt, (d) => d.score), matched, ignored, gtCounted: gIgn.filter((v) => v === 0).length };
}
