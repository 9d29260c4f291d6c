// Box utilities, BoxCoder and LevelMapper against torchvision 0.14 (gen_detection.py), on boxes
// with corners below 0, zero-area and duplicate boxes; BoxCoder with the RPN's (1, 1, 1, 1) and
// the box head's (10, 10, 5, 5) weights and a dw beyond the clip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { tensor, tidy } from '../../src/torch/index.js';
import * as det from '../../src/detection/index.js';
import { assertNear, indices, load, metadata } from './fixture.js';

checkLeaksEachTest();

test('boxArea, boxIou, generalizedBoxIou, clipBoxesToImage, removeSmallBoxes match torchvision', () => {
  tidy(() => {
    const b1 = load('boxes/b1');
    const b2 = load('boxes/b2');
    assertNear(det.boxArea(b1), 'boxes/area');
    assertNear(det.boxIou(b1, b2), 'boxes/iou');
    assertNear(det.generalizedBoxIou(b1, b2), 'boxes/giou');
    assertNear(det.clipBoxesToImage(b1, [15, 12]), 'boxes/clip', 0);
    assert.deepEqual(det.removeSmallBoxes(b1, 2.0).toArray(), indices('boxes/small'));
  });
});

test('boxConvert matches torchvision between every pair of formats', () => {
  tidy(() => {
    const b1 = load('boxes/b1');
    const formats: det.BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
    for (const fin of formats) for (const fout of formats) assertNear(det.boxConvert(b1, fin, fout), `boxes/convert_${fin}_${fout}`);
    assert.throws(() => det.boxConvert(b1, 'xyxy', 'yxyx' as det.BoxFormat), /unknown box format 'yxyx'; use one of xyxy, xywh, cxcywh/);
  });
});

test('BoxCoder encodes and decodes as torchvision (weights 1,1,1,1 and 10,10,5,5; dw clamped)', () => {
  tidy(() => {
    const gt = load('coder/gt');
    const props = load('coder/proposals');
    const codes = load('coder/codes');
    for (const w of [[1, 1, 1, 1], [10, 10, 5, 5]] as const) {
      const coder = new det.BoxCoder(w);
      const tag = w.join('_');
      assertNear(coder.encodeSingle(gt, props), `coder/encode_${tag}`);
      const perImage = coder.encode([gt.narrow(0, 0, 4), gt.narrow(0, 4, 6)], [props.narrow(0, 0, 4), props.narrow(0, 4, 6)]);
      assert.deepEqual(perImage.map((t) => t.shape), [[4, 4], [6, 4]]);
      const decoded = coder.decode(codes, [props.narrow(0, 0, 4), props.narrow(0, 4, 6)]);
      assert.deepEqual(decoded.shape, [10, 3, 4]);
      assertNear(decoded, `coder/decode_${tag}`, 1e-5);
    }
    assert.equal(det.BBOX_XFORM_CLIP, Math.log(1000 / 16));
  });
});

test('decoding what was encoded gives the boxes back', () => {
  tidy(() => {
    const gt = load('coder/gt');
    const props = load('coder/proposals');
    const coder = new det.BoxCoder([10, 10, 5, 5]);
    const back = coder.decodeSingle(coder.encodeSingle(gt, props), props);
    assert.ok(back.sub(gt).abs().max().item() < 1e-4);
  });
});

test("LevelMapper(2, 5) gives torchvision's FPN level of every box", () => {
  tidy(() => {
    const boxes = load('levels/boxes');
    const levels = new det.LevelMapper(2, 5).call([boxes.narrow(0, 0, 3), boxes.narrow(0, 3, 7)]);
    assert.equal(levels.dtype, 'int64');
    assert.deepEqual(levels.toArray(), indices('levels/levels'));
  });
});

test("setupScales infers torchvision's scales and level range from feature map sizes", () => {
  const feats: [number, number][] = [200, 100, 50, 25, 13].map((s) => [s, s + 3]);
  const { scales, mapLevels } = det.setupScales(feats, [[800, 803], [640, 700]]);
  assert.deepEqual(scales, JSON.parse(metadata.infer_scales));
  assert.equal(mapLevels.kMin, 2);
  assert.equal(mapLevels.kMax, 6);
  assert.throws(() => det.setupScales(feats, []), /imageSizes is empty/);
});

test('boxes of the wrong shape are refused with the shape expected', () => {
  tidy(() => {
    assert.throws(() => det.boxIou(tensor([[0, 0, 1, 1]]), tensor([0, 0, 1, 1])), /boxIou: boxes2 must have shape \(N, 4\); got \[4\]/);
  });
});
