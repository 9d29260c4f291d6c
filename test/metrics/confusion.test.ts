// ConfusionMatrix on hand-worked cases: every pixel ignored, one class only, the binary threshold
// on probabilities and logits, the accepted input shapes and dtypes, the errors (each naming the
// value and the fix, and leaving the counts untouched), reset, JSON checks, the per-class table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { ConfusionMatrix, formatClassTable } from '../../src/metrics/index.js';

const long = (data: number[][][][] | number[][][] | number[][]) => tensor(data, { dtype: 'int64' });

describe('ConfusionMatrix, hand cases', () => {
  checkLeaksEachTest();

  test('every pixel ignored: nothing counted, every score NaN, the image counted as empty', () => {
    const m = new ConfusionMatrix({ numClasses: 3 });
    tidy(() => m.update(long([[[1, 2], [0, 1]]]), long([[[255, 255], [255, 255]]])));
    const r = m.compute();
    assert.equal(r.pixels, 0);
    assert.deepEqual(r.matrix, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    assert.deepEqual(r.absent, [0, 1, 2]);
    for (const v of [r.miou, r.meanDice, r.pixelAccuracy, r.meanClassAccuracy, r.fwIou, r.perImage.miou]) assert.ok(Number.isNaN(v));
    assert.equal(r.perImage.images, 0);
    assert.equal(r.perImage.emptyImages, 1);
  });

  test('one class only, predicted right: IoU 1 for it, the others absent and out of the means', () => {
    const m = new ConfusionMatrix({ numClasses: 4 });
    tidy(() => m.update(long([[[2, 2, 2]], [[2, 2, 2]]]), long([[[2, 2, 255]], [[2, 2, 2]]])));
    const r = m.compute();
    assert.deepEqual(r.absent, [0, 1, 3]);
    assert.equal(r.iou[2], 1);
    assert.ok(Number.isNaN(r.iou[0]!));
    assert.equal(r.miou, 1);
    assert.equal(r.meanDice, 1);
    assert.equal(r.pixelAccuracy, 1);
    assert.equal(r.fwIou, 1);
    assert.equal(r.pixels, 5);
    assert.equal(r.matrix[2]![2], 5);
    assert.equal(r.perImage.images, 2);
    assert.equal(r.perImage.miou, 1);
    assert.equal(r.binaryDice, undefined);
  });

  test('binary threshold: probabilities and logits cut at the same probability, > not >=', () => {
    const probs = [0.2, 0.5, 0.69, 0.71, 0.9, 0.1];
    const truth = [[[0, 1, 1, 1, 1, 0]]];
    for (const [threshold, fg] of [[0.5, [0, 0, 1, 1, 1, 0]], [0.7, [0, 0, 0, 1, 1, 0]]] as const) {
      const byProb = new ConfusionMatrix({ numClasses: 2, threshold, binaryInput: 'probabilities' });
      const byLogit = new ConfusionMatrix({ numClasses: 2, threshold });
      tidy(() => {
        byProb.update(tensor([[[probs]]]), long(truth)); // (1, 1, 1, 6)
        byLogit.update(tensor([[probs.map((p) => Math.log(p / (1 - p)))]]), long(truth)); // (1, 1, 6): same shape as the target
      });
      const tp = fg.filter((v, i) => v === 1 && truth[0]![0]![i] === 1).length;
      const predicted = fg.filter((v) => v === 1).length;
      for (const r of [byProb.compute(), byLogit.compute()]) {
        assert.equal(r.predicted[1], predicted, `threshold ${threshold}: foreground pixels`);
        assert.equal(r.matrix[1]![1], tp, `threshold ${threshold}: true positives`);
        assert.equal(r.binaryDice, (2 * tp) / (predicted + 4), `threshold ${threshold}: binary Dice = 2TP / (pred + truth)`);
      }
    }
  });

  test('input forms: (H, W) image, (N, 1, H, W) uint8 target, bool prediction, (N, 1, H, W) indices, 2-class logits', () => {
    const ref = new ConfusionMatrix({ numClasses: 2 });
    tidy(() => ref.update(long([[[0, 1, 1, 0]]]), long([[[0, 1, 0, 255]]])));
    const want = ref.compute().matrix;
    const forms = tidy(() => {
      const t = long([[[0, 1, 0, 255]]]);
      return [
        [long([[0, 1, 1, 0]]), long([[0, 1, 0, 255]])],
        [long([[[0, 1, 1, 0]]]), tensor([[[[0, 1, 0, 255]]]], { dtype: 'uint8' })],
        [tensor([[[false, true, true, false]]]), t],
        [long([[[[0, 1, 1, 0]]]]), t],
        [tensor([[[[3, -1, -2, 0]], [[1, 0, 0, -1]]]]), t], // (1, 2, 1, 4) logits: argmax over dim 1
      ];
    });
    for (const [i, [p, t]] of forms.entries()) {
      const m = new ConfusionMatrix({ numClasses: 2 });
      m.update(p!, t!);
      assert.deepEqual(m.compute().matrix, want, `form ${i}`);
    }
    for (const [p, t] of forms) {
      p!.dispose();
      t!.dispose();
    }
  });

  test('ignoreIndex: null counts every pixel; a small ignore index (0) takes the masked path', () => {
    const none = new ConfusionMatrix({ numClasses: 3, ignoreIndex: null });
    const zero = new ConfusionMatrix({ numClasses: 3, ignoreIndex: 0 });
    tidy(() => {
      none.update(long([[[0, 1, 2, 2]]]), long([[[0, 1, 2, 1]]]));
      zero.update(long([[[0, 1, 2, 2]]]), long([[[0, 1, 2, 1]]]));
    });
    assert.deepEqual(none.compute().matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
    assert.deepEqual(zero.compute().matrix, [[0, 0, 0], [0, 1, 1], [0, 0, 1]]);
    assert.equal(none.compute().pixels, 4);
    assert.equal(zero.compute().pixels, 3);
  });

  test('errors name the value and the fix, and leave the counts as they were', () => {
    const m = new ConfusionMatrix({ numClasses: 3 });
    tidy(() => m.update(long([[[0, 1]]]), long([[[0, 1]]])));
    const before = JSON.stringify(m);
    const cases: [() => void, RegExp][] = [
      [() => m.update(long([[[0, 7]]]), long([[[0, 1]]])), /class indices must lie in \[0, 3\), got values from 0 to 7/],
      [() => m.update(long([[[0, 1]]]), long([[[0, 9]]])), /target values that are not classes in \[0, 3\): 9 \(1 pixels\); the ignore index is 255/],
      [() => m.update(long([[[0, 1]], [[1, 1]]]), long([[[0, 1]], [[300, 1]]])), /image 1 of the batch has target values that are not classes in \[0, 3\): 300 \(1 pixels\)/],
      [() => m.update(long([[[0, 1]]]), long([[[0, -4]]])), /negative target values/],
      [() => m.update(long([[[0, 1]]]), tensor([[[0, 1]]])), /class indices \(an integer or bool tensor\), got float32; convert it with target\.long\(\)/],
      [() => m.update(long([[[0, 1, 2]]]), long([[[0, 1]]])), /prediction shape \[1, 1, 3\] does not fit the target \[1, 1, 2\]/],
      [() => m.update(tensor([[[[0.1, 0.2]]]]), long([[[0, 1]]])), /logits \[1, 3, 1, 2\]/],
    ];
    for (const [fn, re] of cases) assert.throws(() => tidy(fn), re);
    assert.equal(JSON.stringify(m), before);
    const strict = new ConfusionMatrix({ numClasses: 3, ignoreIndex: null });
    assert.throws(() => tidy(() => strict.update(long([[[0, 1]]]), long([[[255, 1]]]))), /not classes in \[0, 3\): 255 \(1 pixels\); no ignore index is set/);
    const masked = new ConfusionMatrix({ numClasses: 3, ignoreIndex: -1 });
    assert.throws(() => tidy(() => masked.update(long([[[0, 1]]]), long([[[-1, 5]]]))), /target values must be classes in \[0, 3\) or the ignore index -1, got values from 0 to 5/);
    assert.throws(() => new ConfusionMatrix({ numClasses: 0 }), /numClasses must be a whole number >= 1, got 0/);
    assert.throws(() => new ConfusionMatrix({ numClasses: 2, threshold: 1 }), /threshold is a probability in \(0, 1\), got 1/);
  });

  test('reset() clears the counts; dispose() makes further use an error', () => {
    const m = new ConfusionMatrix({ numClasses: 2 });
    tidy(() => m.update(long([[[0, 1]]]), long([[[0, 1]]])));
    m.reset();
    assert.equal(m.compute().pixels, 0);
    assert.equal(m.compute().perImage.images, 0);
    m.dispose();
    assert.throws(() => m.compute(), /used after dispose\(\)/);
  });

  test('fromJSON() refuses other objects and wrong sizes, saying what it expected', () => {
    const json = new ConfusionMatrix({ numClasses: 2 }).toJSON();
    assert.throws(() => ConfusionMatrix.fromJSON({ ...json, format: 'other' as never }), /format 'other' version 1 \(expected the object ConfusionMatrix\.toJSON\(\) writes/);
    assert.throws(() => ConfusionMatrix.fromJSON({ ...json, matrix: [1, 2, 3] }), /matrix must be 4 non-negative numbers/);
  });

  test('formatClassTable: text and Markdown, "-" for undefined scores, a mean row', () => {
    const m = new ConfusionMatrix({ numClasses: 3 });
    tidy(() => m.update(long([[[0, 0, 1, 1]]]), long([[[0, 0, 0, 1]]])));
    const r = m.compute();
    assert.equal(
      formatClassTable(r, { classNames: ['road', 'car', 'sky'] }),
      [
        'class  IoU %  Dice %  precision %  recall %  pixels',
        '-----  -----  ------  -----------  --------  ------',
        'road   66.67   80.00       100.00     66.67       3',
        'car    50.00   66.67        50.00    100.00       1',
        'sky        -       -            -         -       0',
        '-----  -----  ------  -----------  --------  ------',
        'mean   58.33   73.33        75.00     83.33       4',
        '',
      ].join('\n'),
    );
    assert.equal(
      formatClassTable(r, { format: 'markdown', digits: 1 }),
      [
        '| class | IoU % | Dice % | precision % | recall % | pixels |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        '| 0 | 66.7 | 80.0 | 100.0 | 66.7 | 3 |',
        '| 1 | 50.0 | 66.7 | 50.0 | 100.0 | 1 |',
        '| 2 | - | - | - | - | 0 |',
        '| **mean** | 58.3 | 73.3 | 75.0 | 83.3 | 4 |',
        '',
      ].join('\n'),
    );
    assert.throws(() => formatClassTable(r, { classNames: ['a'] }), /1 class names for 3 classes/);
  });
});
