// evaluateInstances (what `segkit eval` runs for an instance model) over the bundled shapes' COCO
// file, with a stand-in detector that returns each image's true objects: AP 1 for boxes and
// masks against the file's own annotations and, when that file is gone, against the decoded
// instances; -1 for a class without objects; a wrong label lowers its class's AP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { Module } from '../../src/nn/index.js';
import { generateShapes, SHAPE_CLASSES } from '../../src/data/bundled.js';
import { openInput } from '../../src/data/doctor/input.js';
import { SegDataset } from '../../src/data/dataset.js';
import type { Instance } from '../../src/data/types.js';
import type { Detection } from '../../src/models/detection/types.js';
import { evaluateInstances } from '../../src/predict/instances/index.js';
import { checkLeaksEachTest } from '../leak.js';
import { tempDir } from '../data/synth.js';

checkLeaksEachTest();

/** Returns the queued objects of each image it is called on, in call order, as a Mask R-CNN's postprocess would (masks as probabilities). */
class TruthDetector extends Module {
  calls = 0;
  constructor(private readonly truth: Instance[][], private readonly relabel?: (label: number) => number) {
    super();
  }
  override forward(images: Tensor[]): Detection[] {
    return images.map((img) => {
      const objects = this.truth[this.calls++]!;
      const [H, W] = [img.size(1), img.size(2)];
      const K = objects.length;
      const masks = new Float32Array(K * H * W);
      objects.forEach((o, k) => o.mask!.forEach((v, i) => (masks[k * H * W + i] = v ? 0.9 : 0.1)));
      return {
        boxes: tensor(Float32Array.from(objects.flatMap((o) => o.box)), { shape: [K, 4] }),
        labels: tensor(BigInt64Array.from(objects.map((o) => BigInt(this.relabel ? this.relabel(o.label) : o.label))), { shape: [K] }),
        scores: tensor(Float32Array.from(objects, (_, k) => 0.9 - 0.1 * k), { shape: [K] }),
        masks: tensor(masks, { shape: [K, 1, H, W] }),
      };
    });
  }
}

async function shapes(dir: string): Promise<{ ds: SegDataset; truth: Instance[][]; file: string }> {
  // seed 5 draws circles and triangles, no square
  const root = await generateShapes({ dir: join(dir, 'shapes'), count: 3, size: 48, seed: 5, objects: [1, 2] });
  const file = join(root, 'annotations.json');
  const opened = await openInput(file);
  const ds = new SegDataset({ ...opened.spec, instances: true });
  const truth: Instance[][] = [];
  for (let i = 0; i < ds.length; i++) truth.push((await ds.get(i)).instances!);
  return { ds, truth, file };
}

test("detections equal to the truth score AP 1 against the dataset's COCO file, then against the decoded instances once the file is gone", async () => {
  const tmp = tempDir('segkit-inst-eval-');
  try {
    const { ds, truth, file } = await shapes(tmp.dir);
    const present = new Set(truth.flat().map((o) => o.label));
    const model = new TruthDetector(truth);
    const e = await evaluateInstances(model, ds, SHAPE_CLASSES, { panels: 1 });
    assert.equal(e.groundTruthFile, file);
    assert.deepEqual(e.images.map((r) => r.imageId), [1, 2, 3], "the file's image ids");
    for (const t of ['bbox', 'segm'] as const) {
      assert.equal(e.results[t]!.stats.AP, 1, `${t} AP`);
      assert.equal(e.results[t]!.stats.AR100, 1, `${t} AR100`);
    }
    for (const c of e.perClass) {
      const want = present.has(c.label) ? 1 : -1;
      assert.equal(c.segm!.AP, want, `${c.name} mask AP`);
      assert.equal(c.bbox.AP50, want, `${c.name} box AP50`);
    }
    assert.equal(e.panels.length, 1);

    rmSync(file); // the split CSV of a run whose data moved: score against the decoded instances
    const again = await evaluateInstances(new TruthDetector(truth), ds, SHAPE_CLASSES);
    assert.equal(again.groundTruthFile, undefined);
    assert.equal(again.groundTruth.annotations.length, truth.flat().length);
    assert.equal(again.results.segm!.stats.AP, 1);
    assert.equal(again.results.bbox!.stats.AP, 1);
    model.dispose();
  } finally {
    tmp.done();
  }
});

test("a detector that calls every object a square has AP 0 for the true classes and AP -1 where there is nothing to find", async () => {
  const tmp = tempDir('segkit-inst-eval-');
  try {
    const { ds, truth } = await shapes(tmp.dir);
    const e = await evaluateInstances(new TruthDetector(truth, () => 2), ds, SHAPE_CLASSES);
    const present = new Set(truth.flat().map((o) => o.label));
    for (const c of e.perClass) assert.equal(c.segm!.AP, present.has(c.label) ? 0 : -1, c.name);
    assert.ok(!present.has(2), 'seed 5 draws no square');
    assert.equal(e.results.segm!.stats.AP, 0, 'no object found: the squares called for are not there');
    assert.equal(e.results.bbox!.stats.AR100, 0);
  } finally {
    tmp.done();
  }
});

test("a model with other classes than the file's categories (torchvision's COCO labels) is mapped by class name; labels without a category are left out", async () => {
  const tmp = tempDir('segkit-inst-eval-');
  try {
    const { ds, truth } = await shapes(tmp.dir);
    const classes = ['__background__', 'circle', 'N/A', 'square', 'triangle', 'hexagon'];
    const toModel = new Map([[1, 1], [2, 3], [3, 4]]);
    // every true object, plus a copy of each called 'N/A' (label 2): it must not count as a false positive
    const withNa = truth.map((objs) => [...objs.map((o) => ({ ...o, label: toModel.get(o.label)! })), ...objs.map((o) => ({ ...o, label: 2 }))]);
    const e = await evaluateInstances(new TruthDetector(withNa), ds, classes);
    assert.equal(e.results.segm!.stats.AP, 1);
    assert.equal(e.results.bbox!.stats.AP, 1);
    assert.deepEqual(e.perClass.map((c) => [c.name, c.label]), [['circle', 1], ['square', 3], ['triangle', 4]]);
    assert.ok(e.images.every((r) => !r.labels.includes(2)), "the 'N/A' detections are left out");

    await assert.rejects(evaluateInstances(new TruthDetector(truth), ds, ['background', 'disc', 'box']), /the model has 2 classes besides the background but the ground truth \(.*annotations\.json\) has 3 categories, and 'circle', 'square', 'triangle' are not among its classes/);
  } finally {
    tmp.done();
  }
});
