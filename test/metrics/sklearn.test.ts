// ConfusionMatrix against scikit-learn (test/fixtures/metrics/gen_metrics.py): seeded random
// targets with ignored pixels, an absent class, a class only predicted and one never predicted, an
// all-ignored image; predictions as logits, class indices, binary probabilities and logits. Each
// case is fed in several update() batches and every score must match to 1e-9, dataset-level and
// per image. Also: the same data merged from two matrices, and resumed through toJSON/fromJSON.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { ConfusionMatrix, type ConfusionMatrixOptions, type SegmentationMetrics } from '../../src/metrics/index.js';

type Num = number | null; // null: NaN (a score that is 0/0)
interface Scores {
  pixels: number;
  matrix: number[][];
  iou: Num[];
  dice: Num[];
  precision: Num[];
  recall: Num[];
  absent: number[];
  miou: Num;
  meanDice: Num;
  pixelAccuracy: Num;
  meanClassAccuracy: Num;
  fwIou: Num;
  binaryDice?: Num;
  perImage: { images: number; emptyImages: number; miou: Num; meanDice: Num; iou: Num[]; dice: Num[]; binaryDice?: Num; emptyForegroundImages?: number };
}
interface Case {
  name: string;
  options: ConfusionMatrixOptions;
  batches: number[];
  target: { shape: number[]; values: number[] };
  pred: { kind: 'logits' | 'indices' | 'probabilities'; shape: number[]; values: number[] };
  expected: Scores;
}
const fx = JSON.parse(readFileSync(fixture('metrics', 'metrics.json'), 'utf8')) as { sklearn: string; cases: Case[] };

/** The images [from, from + n) of the case's inputs as tensors (target int64, pred as stored). */
function slice(c: Case, from: number, n: number): { pred: Tensor; target: Tensor } {
  const per = (shape: number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
  const tp = per(c.target.shape);
  const pp = per(c.pred.shape);
  const target = tensor(BigInt64Array.from(c.target.values.slice(from * tp, (from + n) * tp), BigInt), { shape: [n, ...c.target.shape.slice(1)] });
  const pv = c.pred.values.slice(from * pp, (from + n) * pp);
  const pshape = [n, ...c.pred.shape.slice(1)];
  const pred = c.pred.kind === 'indices' ? tensor(BigInt64Array.from(pv, BigInt), { shape: pshape }) : tensor(Float32Array.from(pv), { shape: pshape });
  return { pred, target };
}

function feed(m: ConfusionMatrix, c: Case, batches: number[], start = 0): void {
  let from = start;
  for (const n of batches) {
    const { pred, target } = slice(c, from, n);
    m.update(pred, target);
    pred.dispose();
    target.dispose();
    from += n;
  }
}

function close(actual: number | undefined, expected: Num | undefined, what: string): void {
  assert.notEqual(actual, undefined, `${what}: missing`);
  if (expected === null || expected === undefined) {
    assert.ok(Number.isNaN(actual), `${what}: got ${actual}, scikit-learn: undefined (0/0)`);
    return;
  }
  assert.ok(Math.abs(actual! - expected) <= 1e-9, `${what}: got ${actual}, scikit-learn ${expected}`);
}
const closeAll = (a: number[], e: Num[], what: string) => {
  assert.equal(a.length, e.length, `${what}: length`);
  e.forEach((v, i) => close(a[i], v, `${what}[${i}]`));
};

function check(m: SegmentationMetrics, e: Scores, name: string): void {
  assert.deepEqual(m.matrix, e.matrix, `${name}: confusion_matrix`);
  assert.equal(m.pixels, e.pixels, `${name}: pixels`);
  assert.deepEqual(m.absent, e.absent, `${name}: absent classes`);
  for (const k of ['iou', 'dice', 'precision', 'recall'] as const) closeAll(m[k], e[k], `${name}: ${k}`);
  for (const k of ['miou', 'meanDice', 'pixelAccuracy', 'meanClassAccuracy', 'fwIou'] as const) close(m[k], e[k], `${name}: ${k}`);
  if ('binaryDice' in e) close(m.binaryDice, e.binaryDice, `${name}: binaryDice`);
  else assert.equal(m.binaryDice, undefined, `${name}: binaryDice only for 2 classes`);
  const p = m.perImage;
  const ep = e.perImage;
  assert.equal(p.images, ep.images, `${name}: perImage.images`);
  assert.equal(p.emptyImages, ep.emptyImages, `${name}: perImage.emptyImages`);
  close(p.miou, ep.miou, `${name}: perImage.miou`);
  close(p.meanDice, ep.meanDice, `${name}: perImage.meanDice`);
  closeAll(p.iou, ep.iou, `${name}: perImage.iou`);
  closeAll(p.dice, ep.dice, `${name}: perImage.dice`);
  if ('binaryDice' in ep) {
    close(p.binaryDice, ep.binaryDice, `${name}: perImage.binaryDice`);
    assert.equal(p.emptyForegroundImages, ep.emptyForegroundImages, `${name}: perImage.emptyForegroundImages`);
  }
}

describe(`ConfusionMatrix against scikit-learn ${fx.sklearn}`, () => {
  checkLeaksEachTest();

  for (const c of fx.cases) {
    test(`${c.name}: batches of ${c.batches.join(', ')} images`, () => {
      const m = new ConfusionMatrix(c.options);
      feed(m, c, c.batches);
      check(m.compute(), c.expected, c.name);
    });
  }

  test('one image per update and the whole set in one update give the same scores', () => {
    for (const c of fx.cases) {
      const N = c.target.shape[0]!;
      for (const batches of [Array<number>(N).fill(1), [N]]) {
        const m = new ConfusionMatrix(c.options);
        feed(m, c, batches);
        check(m.compute(), c.expected, `${c.name} (batches ${batches.join(',')})`);
      }
    }
  });

  test('merge(): two matrices fed halves of the data equal one fed all of it', () => {
    for (const c of fx.cases) {
      const N = c.target.shape[0]!;
      const half = N >> 1;
      const a = new ConfusionMatrix(c.options);
      const b = new ConfusionMatrix(c.options);
      feed(a, c, [half]);
      feed(b, c, [N - half], half);
      check(a.merge(b).compute(), c.expected, `${c.name} (merged)`);
      // what a worker process would send: the other half as JSON
      const first = new ConfusionMatrix(c.options);
      feed(first, c, [half]);
      check(first.merge(JSON.parse(JSON.stringify(b))).compute(), c.expected, `${c.name} (merged from JSON)`);
    }
  });

  test('toJSON()/fromJSON(): an evaluation stopped midway and resumed from JSON text ends with the same scores', () => {
    const c = fx.cases[0]!;
    const first = new ConfusionMatrix(c.options);
    feed(first, c, [2]);
    const saved = JSON.stringify(first);
    first.dispose();
    const resumed = ConfusionMatrix.fromJSON(saved);
    assert.equal(resumed.numClasses, c.options.numClasses);
    assert.equal(resumed.ignoreIndex, c.options.ignoreIndex);
    feed(resumed, c, [1, 3], 2);
    check(resumed.compute(), c.expected, `${c.name} (resumed)`);
  });
});
