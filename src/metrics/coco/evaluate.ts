// COCO detection evaluation (bbox or segm), the computation of pycocotools' COCOeval
// (evaluate → accumulate → summarize) with its defaults: IoU thresholds .50:.05:.95, 101 recall
// points, areas all/small/medium/large, maxDets 1/10/100. Precision at each recall point is the
// best precision at that recall or beyond; -1 marks a (category, area) without counted gts.
import { boxIou, maskIou } from './masks.js';
import { evaluateImage, sortDetections, type ImageEval } from './match.js';
import { groupGroundTruth, groupResults, type Item } from './prepare.js';
import { summarize, type CocoStats } from './summary.js';
import type { CocoGroundTruth, CocoResult, IouType } from './types.js';

export interface CocoEvalOptions {
  iouType: IouType;
  /** Images to evaluate. Default: every image of the ground truth. */
  imageIds?: readonly number[];
  /** Categories to evaluate. Default: every category of the ground truth. */
  categoryIds?: readonly number[];
  /** Detections kept per image and category, ascending. Default [1, 10, 100]. */
  maxDets?: readonly number[];
}

export interface CocoEvalParams {
  iouType: IouType;
  imageIds: number[]; // sorted, unique
  categoryIds: number[]; // sorted, unique
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
}

export interface CocoEvalResult {
  params: CocoEvalParams;
  /** [T, R, K, A, M] row-major: thresholds, recall points, categories, area ranges, maxDets. */
  precision: Float64Array;
  /** [T, K, A, M] row-major. */
  recall: Float64Array;
  /** [T, R, K, A, M]: the detection score at each recall point. */
  scores: Float64Array;
  /** The 12 numbers of pycocotools' summarize(), in its order, with their names. */
  stats: CocoStats;
}

/** numpy.linspace(start, stop, num): i * step + start, the last one exactly `stop`. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

export function defaultParams(iouType: IouType): CocoEvalParams {
  return {
    iouType,
    imageIds: [],
    categoryIds: [],
    iouThrs: linspace(0.5, 0.95, 10),
    recThrs: linspace(0, 1, 101),
    maxDets: [1, 10, 100],
    areaRng: [[0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e10]],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}

const EPS = 2.220446049250313e-16; // np.spacing(1), kept in the precision's denominator

/** Evaluate COCO results against a COCO ground truth, as pycocotools' COCOeval would. */
export function evaluateCoco(gt: CocoGroundTruth, results: readonly CocoResult[], opts: CocoEvalOptions): CocoEvalResult {
  if (opts.iouType !== 'bbox' && opts.iouType !== 'segm') throw new Error(`iouType ${JSON.stringify(opts.iouType)} is not supported; use 'bbox' or 'segm'`);
  const p = defaultParams(opts.iouType);
  const uniq = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
  p.imageIds = uniq(opts.imageIds ?? gt.images.map((im) => im.id));
  p.categoryIds = uniq(opts.categoryIds ?? gt.categories.map((c) => c.id));
  if (opts.maxDets) p.maxDets = [...opts.maxDets].sort((a, b) => a - b);
  const imgSet = new Set(p.imageIds), catSet = new Set(p.categoryIds);
  const gts = groupGroundTruth(gt, imgSet, catSet, p.iouType);
  const dts = groupResults(gt, results, imgSet, catSet, p.iouType);

  // evals[k][a]: one entry per image (in id order) with gts or detections of the category
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const evals: ImageEval[][][] = p.categoryIds.map(() => p.areaRng.map(() => []));
  p.categoryIds.forEach((cat, k) => {
    for (const img of p.imageIds) {
      const g = gts.get(img)?.get(cat) ?? [];
      const d = sortDetections(dts.get(img)?.get(cat) ?? [], maxDet);
      if (g.length === 0 && d.length === 0) continue;
      const ious = g.length && d.length ? iou(d, g, p.iouType) : new Float64Array(0);
      p.areaRng.forEach((rng, a) => evals[k][a].push(evaluateImage(g, d, ious, p.iouThrs, rng)));
    }
  });
  const acc = accumulate(evals, p);
  return { params: p, ...acc, stats: summarize(acc.precision, acc.recall, p) };
}

function iou(dt: Item[], gt: Item[], iouType: IouType): Float64Array {
  const crowd = Uint8Array.from(gt, (g) => (g.crowd ? 1 : 0));
  return iouType === 'segm' ? maskIou(dt.map((d) => d.rle!), gt.map((g) => g.rle!), crowd) : boxIou(dt.map((d) => d.box), gt.map((g) => g.box), crowd);
}

/** COCOeval.accumulate: precision/recall curves over all images, per category, area, maxDets. */
function accumulate(evals: ImageEval[][][], p: CocoEvalParams): Omit<CocoEvalResult, 'params' | 'stats'> {
  const T = p.iouThrs.length, R = p.recThrs.length, K = p.categoryIds.length, A = p.areaRng.length, M = p.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const at = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E = evals[k][a];
      const npig = E.reduce((s, e) => s + e.gtCounted, 0);
      if (npig === 0) continue; // also when no image has gts or detections: stays -1
      for (let m = 0; m < M; m++) {
        // every image's first maxDets detections in one score order (stable: image order, then rank)
        const keep = E.map((e) => Math.min(e.scores.length, p.maxDets[m]));
        const nd = keep.reduce((s, n) => s + n, 0);
        const sc = new Float64Array(nd);
        const flag = new Uint8Array(T * nd); // (T, nd): 0 ignored, 1 true positive, 2 false positive
        let o = 0;
        E.forEach((e, i) => {
          const D = e.scores.length;
          for (let d = 0; d < keep[i]; d++, o++) {
            sc[o] = e.scores[d];
            for (let t = 0; t < T; t++) flag[t * nd + o] = e.ignored[t * D + d] ? 0 : e.matched[t * D + d] ? 1 : 2;
          }
        });
        const order = Int32Array.from({ length: nd }, (_, i) => i).sort((i, j) => sc[j] - sc[i] || i - j);
        const rc = new Float64Array(nd), pr = new Float64Array(nd);
        for (let t = 0; t < T; t++) {
          let tp = 0, fp = 0;
          for (let i = 0; i < nd; i++) {
            const f = flag[t * nd + order[i]];
            if (f === 1) tp++;
            else if (f === 2) fp++;
            rc[i] = tp / npig;
            pr[i] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i]; // precision envelope
          // each recall point takes the first detection reaching it (searchsorted, side left);
          // points beyond the last recall reached stay 0
          let i = 0;
          for (let r = 0; r < R; r++) {
            while (i < nd && rc[i] < p.recThrs[r]) i++;
            precision[at(t, r, k, a, m)] = i < nd ? pr[i] : 0;
            scores[at(t, r, k, a, m)] = i < nd ? sc[order[i]] : 0;
          }
        }
      }
    }
  }
  return { precision, recall, scores };
}
