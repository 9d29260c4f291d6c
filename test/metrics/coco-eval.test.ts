// COCO evaluation against pycocotools (test/fixtures/metrics/gen_coco.py, cocoapi built from
// source): the 12 summary numbers, recall and summed precision per threshold/category/area/maxDets
// for bbox, segm and segm results that carry a bbox, on seeded data with crowd regions, empty
// images, many categories, score ties and more than 100 detections in an image, all to 1e-6;
// IoU matrices with crowds, polygon rasterisation and RLE strings exactly. Then results files:
// predictions → COCO results → file → back, evaluating the same; and hand cases for the rules
// users rely on (crowd regions, missing detections, errors). No native tensors are made here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../paths.js';
import { coco } from '../../src/metrics/index.js';
import { rleDecode, rleFromString, rleToString } from '../../src/data/sources/rle.js';
import type { CocoGroundTruth, CocoResult, CocoRle } from '../../src/metrics/coco/index.js';

interface Expected {
  stats: number[];
  catIds: number[];
  precisionSum?: number[][][][]; // [T][K][A][M]: precision summed over the 101 recall points (-1: absent)
  recall?: number[][][][];
  apPerCategory?: number[];
  arPerCategory?: number[];
}
interface Case {
  gt: CocoGroundTruth;
  results: { bbox: CocoResult[]; segm?: CocoResult[]; segmBoxes?: number[][] };
  expected: Record<string, Expected>;
  ious?: { imageId: number; categoryId: number; iou: number[][] }[];
  gtRle?: string[];
}
const fx = JSON.parse(readFileSync(fixture('metrics', 'coco.json'), 'utf8')) as { iouThrs: number[]; recThrs: number[]; cases: { mixed: Case; many: Case } };
const { mixed, many } = fx.cases;
const TOL = 1e-6;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs pycocotools ${expected}`);
}

function checkAgainst(r: coco.CocoEvalResult, e: Expected, name: string): void {
  assert.deepEqual(r.params.categoryIds, e.catIds);
  e.stats.forEach((v, i) => close(r.stats.values[i], v, `${name} ${coco.COCO_STAT_NAMES[i]}`));
  const [T, R, K, A, M] = [10, 101, e.catIds.length, 4, 3];
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      for (let a = 0; a < A; a++) {
        for (let m = 0; m < M; m++) {
          const where = `${name} t=${t} cat=${e.catIds[k]} area=${a} maxDets=${m}`;
          if (e.recall) close(r.recall[((t * K + k) * A + a) * M + m], e.recall[t][k][a][m], `recall ${where}`);
          if (e.precisionSum) {
            let s = 0;
            for (let q = 0; q < R; q++) s += r.precision[(((t * R + q) * K + k) * A + a) * M + m];
            const absent = r.precision[((t * R * K + k) * A + a) * M + m] === -1;
            close(absent ? -1 : s, e.precisionSum[t][k][a][m], `precision sum ${where}`);
          }
        }
      }
    }
  }
  // per category, area all, maxDets 100
  const mean = (xs: number[]) => (xs.some((v) => v > -1) ? xs.filter((v) => v > -1).reduce((p, v) => p + v, 0) / xs.filter((v) => v > -1).length : -1);
  e.apPerCategory?.forEach((v, k) => {
    const xs: number[] = [];
    for (let t = 0; t < T; t++) for (let q = 0; q < R; q++) xs.push(r.precision[(((t * R + q) * K + k) * A + 0) * M + 2]);
    close(mean(xs), v, `${name} AP of category ${e.catIds[k]}`);
  });
  e.arPerCategory?.forEach((v, k) => {
    const xs = Array.from({ length: T }, (_, t) => r.recall[((t * K + k) * A + 0) * M + 2]);
    close(mean(xs), v, `${name} AR of category ${e.catIds[k]}`);
  });
}

const segmWithBox = (): CocoResult[] => mixed.results.segm!.map((r, i) => ({ ...r, bbox: mixed.results.segmBoxes![i] }));

describe('COCO evaluation equals pycocotools', () => {
  test("thresholds are numpy.linspace's, bit for bit", () => {
    const p = coco.defaultParams('bbox');
    assert.deepEqual(p.iouThrs, fx.iouThrs);
    assert.deepEqual(p.recThrs, fx.recThrs);
  });

  test('bbox: crowds, empty images, ties, >100 detections, a category never detected and one only detected', () => {
    checkAgainst(coco.evaluateCoco(mixed.gt, mixed.results.bbox, { iouType: 'bbox' }), mixed.expected.bbox, 'bbox');
  });

  test('segm: polygons (some in parts, some outside the image), RLE and crowd gts; RLE detections', () => {
    checkAgainst(coco.evaluateCoco(mixed.gt, mixed.results.segm!, { iouType: 'segm' }), mixed.expected.segm, 'segm');
  });

  test("segm results that carry a bbox: the detection's area is the box's, as pycocotools' loadRes does", () => {
    checkAgainst(coco.evaluateCoco(mixed.gt, segmWithBox(), { iouType: 'segm' }), mixed.expected.segmWithBox, 'segmWithBox');
  });

  test('bbox, 60 categories and about 600 detections: stats, AP and AR per category', () => {
    checkAgainst(coco.evaluateCoco(many.gt, many.results.bbox, { iouType: 'bbox' }), many.expected.bbox, 'many');
  });

  test("mask IoU with crowd regions equals pycocotools' iou()", () => {
    const images = new Map(mixed.gt.images.map((im) => [im.id, im]));
    for (const { imageId, categoryId, iou } of mixed.ious!) {
      const { height: h, width: w } = images.get(imageId)!;
      const gts = mixed.gt.annotations.filter((a) => a.image_id === imageId && a.category_id === categoryId);
      const dts = mixed.results.segm!.filter((r) => r.image_id === imageId && r.category_id === categoryId);
      // pycocotools' rows are the detections in score order (stable)
      const sorted = dts.map((d, i) => [d, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).map(([d]) => d);
      const got = coco.maskIou(sorted.map((d) => coco.segmentationToRle(d.segmentation!, h, w)), gts.map((g) => coco.segmentationToRle(g.segmentation!, h, w)), gts.map((g) => g.iscrowd ?? 0));
      assert.ok(gts.some((g) => g.iscrowd), 'the fixture pairs have crowd gts');
      assert.deepEqual(Array.from(got), iou.flat(), `image ${imageId} category ${categoryId}`);
    }
  });

  test("every gt's mask is pycocotools' annToRLE, as the same compressed string", () => {
    const images = new Map(mixed.gt.images.map((im) => [im.id, im]));
    mixed.gt.annotations.forEach((a, i) => {
      const im = images.get(a.image_id)!;
      assert.equal(rleToString(coco.segmentationToRle(a.segmentation!, im.height, im.width).counts), mixed.gtRle![i], `annotation ${a.id}`);
    });
  });
});

describe('COCO results files', () => {
  test('masks encode to the strings pycocotools wrote; boxes and masks survive predictions → results → file → evaluation', async () => {
    const byImage = new Map<number, CocoResult[]>();
    for (const r of mixed.results.segm!) byImage.set(r.image_id, [...(byImage.get(r.image_id) ?? []), r]);
    const catIds = mixed.gt.categories.map((c) => c.id).sort((a, b) => a - b);
    const label = (cat: number) => catIds.indexOf(cat) + 1;
    const dets: coco.ImageDetections[] = [...byImage].map(([imageId, rs]) => {
      const seg = rs.map((r) => r.segmentation as CocoRle);
      const [height, width] = seg[0].size;
      return {
        imageId,
        boxes: rs.flatMap((_, i) => {
          const b = mixed.results.segmBoxes![mixed.results.segm!.indexOf(rs[i])];
          return [b[0], b[1], b[0] + b[2], b[1] + b[3]];
        }),
        scores: rs.map((r) => r.score),
        labels: rs.map((r) => label(r.category_id)),
        masks: seg.map((s) => rleDecode({ size: s.size, counts: rleFromString(s.counts) })),
        height,
        width,
      };
    });
    const segm = coco.toCocoResults(dets, catIds, 'segm');
    const strings = (rs: CocoResult[]) => rs.map((r) => (r.segmentation as CocoRle).counts).sort();
    assert.deepEqual(strings(segm), strings(mixed.results.segm!));
    const dir = mkdtempSync(join(tmpdir(), 'segkit-coco-'));
    try {
      await coco.writeCocoResults(join(dir, 'segm.json'), segm);
      const back = await coco.readCocoResults(join(dir, 'segm.json'));
      // results are grouped by image now: file order only breaks score ties, within an image
      const r = coco.evaluateCoco(mixed.gt, back, { iouType: 'segm' });
      mixed.expected.segm.stats.forEach((v, i) => close(r.stats.values[i], v, `segm from file ${coco.COCO_STAT_NAMES[i]}`));
      const boxes = coco.toCocoResults(dets, catIds, 'bbox');
      assert.ok(boxes.every((b) => b.bbox!.length === 4 && b.segmentation === undefined));
      const withBox = segm.map((s, i) => ({ ...s, bbox: boxes[i].bbox }));
      const rb = coco.evaluateCoco(mixed.gt, withBox, { iouType: 'segm' });
      mixed.expected.segmWithBox.stats.forEach((v, i) => close(rb.stats.values[i], v, `segm+bbox ${coco.COCO_STAT_NAMES[i]}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a results file that is not a list, or an entry without a score, is refused with the file and entry named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segkit-coco-'));
    try {
      await coco.writeCocoResults(join(dir, 'a.json'), [{ image_id: 1, category_id: 2 } as CocoResult]);
      await assert.rejects(coco.readCocoResults(join(dir, 'a.json')), /a\.json: result 0: `score` must be a number/);
      await coco.writeCocoResults(join(dir, 'b.json'), {} as CocoResult[]);
      await assert.rejects(coco.readCocoResults(join(dir, 'b.json')), /b\.json: a COCO results file is a JSON array/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('COCO evaluation, hand cases', () => {
  const gt: CocoGroundTruth = {
    images: [{ id: 1, width: 100, height: 100 }, { id: 2, width: 100, height: 100 }],
    categories: [{ id: 5, name: 'a' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 5, bbox: [10, 10, 40, 40], area: 1600 },
      { id: 2, image_id: 1, category_id: 5, bbox: [60, 60, 30, 30], area: 900, iscrowd: 1 },
    ],
  };

  test('detections inside a crowd region match it any number of times and count neither way', () => {
    const res: CocoResult[] = [
      { image_id: 1, category_id: 5, bbox: [10, 10, 40, 40], score: 0.5 },
      { image_id: 1, category_id: 5, bbox: [62, 62, 10, 10], score: 0.9 },
      { image_id: 1, category_id: 5, bbox: [70, 70, 10, 10], score: 0.8 },
    ];
    const r = coco.evaluateCoco(gt, res, { iouType: 'bbox' });
    // the two crowd detections ranked above the hit cost nothing (1 - 1e-16: pycocotools divides by tp + fp + eps)
    assert.ok(Math.abs(r.stats.AP - 1) < 1e-12, `AP ${r.stats.AP}`);
    assert.equal(r.stats.AR100, 1);
    assert.equal(r.stats.APl, -1); // no large gt
    assert.equal(r.stats.APs, -1); // the crowd region is small but never counted
  });

  test('a detection with equal IoU to two gts takes the later one, leaving the first for the next detection', () => {
    const g: CocoGroundTruth = {
      images: [{ id: 1, width: 50, height: 50 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [10, 0, 10, 10], area: 100 },
        { id: 2, image_id: 1, category_id: 1, bbox: [12, 0, 10, 10], area: 100 },
      ],
    };
    const res: CocoResult[] = [
      { image_id: 1, category_id: 1, bbox: [11, 0, 10, 10], score: 0.9 }, // IoU 9/11 with both
      { image_id: 1, category_id: 1, bbox: [9, 0, 10, 10], score: 0.8 }, // 9/11 with gt 1, 7/13 with gt 2
    ];
    const r = coco.evaluateCoco(g, res, { iouType: 'bbox' });
    const recallAt = (t: number) => r.recall[(t * 1 + 0) * 4 * 3 + 0 * 3 + 2];
    assert.equal(r.params.iouThrs[5], 0.75);
    assert.equal(recallAt(5), 1); // at IoU .75 both gts are found only if the first detection took gt 2
  });

  test('no detections: AP and AR 0 where gts exist; a results entry for an unknown image is an error', () => {
    const r = coco.evaluateCoco(gt, [], { iouType: 'bbox' });
    assert.equal(r.stats.AP, 0);
    assert.equal(r.stats.AR100, 0);
    assert.throws(() => coco.evaluateCoco(gt, [{ image_id: 7, category_id: 5, bbox: [0, 0, 1, 1], score: 1 }], { iouType: 'bbox' }), /result 0 \(image_id 7\): no image with this id/);
    assert.throws(() => coco.evaluateCoco(gt, [], { iouType: 'segm' }), /ground-truth annotation 1 has no segmentation/);
  });

  test('the summary prints as pycocotools prints it', () => {
    const r = coco.evaluateCoco(gt, [{ image_id: 1, category_id: 5, bbox: [10, 10, 40, 40], score: 1 }], { iouType: 'bbox' });
    const text = coco.formatCocoStats(r.stats, r.params).split('\n');
    assert.equal(text.length, 12);
    assert.equal(text[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000');
    assert.equal(text[5], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000');
    assert.equal(text[6], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000');
  });
});
