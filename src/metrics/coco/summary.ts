// The 12 COCO summary numbers (COCOeval.summarize for bbox/segm): each is the mean of the
// precision (or recall) entries that are not -1, over IoU thresholds, recall points and
// categories; -1 when every entry is -1. Also the text table pycocotools prints.
import type { CocoEvalParams } from './evaluate.js';

export const COCO_STAT_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;
export type CocoStatName = (typeof COCO_STAT_NAMES)[number];
export type CocoStats = Record<CocoStatName, number> & { values: number[] };

interface Line {
  ap: boolean;
  iouThr?: number;
  area: string;
  maxDets: number;
}

function lines(p: CocoEvalParams): Line[] {
  const [m1, m10, m100] = p.maxDets;
  const last = m100 ?? p.maxDets[p.maxDets.length - 1];
  return [
    { ap: true, area: 'all', maxDets: last },
    { ap: true, iouThr: 0.5, area: 'all', maxDets: last },
    { ap: true, iouThr: 0.75, area: 'all', maxDets: last },
    { ap: true, area: 'small', maxDets: last },
    { ap: true, area: 'medium', maxDets: last },
    { ap: true, area: 'large', maxDets: last },
    { ap: false, area: 'all', maxDets: m1 },
    { ap: false, area: 'all', maxDets: m10 },
    { ap: false, area: 'all', maxDets: last },
    { ap: false, area: 'small', maxDets: last },
    { ap: false, area: 'medium', maxDets: last },
    { ap: false, area: 'large', maxDets: last },
  ];
}

export function summarize(precision: Float64Array, recall: Float64Array, p: CocoEvalParams): CocoStats {
  const T = p.iouThrs.length, R = p.recThrs.length, K = p.categoryIds.length, A = p.areaRng.length, M = p.maxDets.length;
  const values = lines(p).map(({ ap, iouThr, area, maxDets }) => {
    const a = p.areaRngLbl.indexOf(area), m = p.maxDets.indexOf(maxDets);
    if (a < 0 || m < 0) return -1; // as pycocotools: nothing selected, mean of nothing
    let sum = 0, n = 0;
    for (let t = 0; t < T; t++) {
      if (iouThr !== undefined && p.iouThrs[t] !== iouThr) continue;
      for (let r = 0; r < (ap ? R : 1); r++) {
        for (let k = 0; k < K; k++) {
          const v = ap ? precision[(((t * R + r) * K + k) * A + a) * M + m] : recall[((t * K + k) * A + a) * M + m];
          if (v > -1) {
            sum += v;
            n++;
          }
        }
      }
    }
    return n ? sum / n : -1;
  });
  const stats = { values } as CocoStats;
  COCO_STAT_NAMES.forEach((name, i) => (stats[name] = values[i]));
  return stats;
}

/** The summary as pycocotools prints it, one line per number. */
export function formatCocoStats(stats: CocoStats, p: CocoEvalParams): string {
  const iouRange = `${p.iouThrs[0].toFixed(2)}:${p.iouThrs[p.iouThrs.length - 1].toFixed(2)}`;
  return lines(p)
    .map(({ ap, iouThr, area, maxDets }, i) => {
      const title = ap ? 'Average Precision  (AP)' : 'Average Recall     (AR)';
      const iou = (iouThr === undefined ? iouRange : iouThr.toFixed(2)).padEnd(9);
      return ` ${title} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${stats.values[i].toFixed(3)}`;
    })
    .join('\n');
}
