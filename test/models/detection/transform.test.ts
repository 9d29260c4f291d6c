// GeneralizedRCNNTransform and paste_masks_in_image against torchvision 0.14
// (test/fixtures/detection/gen_rcnn_transform.py): the padded batch, image sizes and resized
// targets (boxes, nearest-resized masks) in eval mode with the shorter or the longer side binding,
// in training mode with the min size drawn per image after the same seed, and with fixedSize;
// postprocess's boxes and pasted masks, boxes partly outside the image and one under a pixel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { GeneralizedRCNNTransform } from '../../../src/models/index.js';
import { pasteMasksInImage } from '../../../src/detection/index.js';
import type { Detection, DetectionTarget } from '../../../src/models/detection/types.js';
import { fixture } from '../../paths.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const file = readSafetensors(fixture('detection', 'rcnn-transform.safetensors'));
const load = (key: string): torch.Tensor => {
  const raw = file.tensors.get(key);
  assert.ok(raw, `rcnn-transform fixture has no '${key}' (regenerate it with gen_rcnn_transform.py)`);
  return torch.fromRaw(raw);
};
const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => {
  assert.deepEqual(a.shape, b.shape);
  return torch.tidy(() => (a.numel === 0 ? 0 : a.float().sub(b.float()).abs().max().item()));
};

interface Case {
  name: string; training: boolean; minSize: number[]; maxSize: number; sizes: [number, number][];
  sizeDivisible: number; fixedSize?: [number, number]; seed?: number; imageSizes: [number, number][];
}
const cases = JSON.parse(file.metadata.cases) as Case[];

for (const c of cases) {
  test(`${c.name}: batch, image sizes and resized targets equal torchvision's`, () => {
    const t = new GeneralizedRCNNTransform(c).train(c.training);
    torch.tidy(() => {
      const images = c.sizes.map((_, i) => load(`${c.name}/image${i}`));
      const targets: DetectionTarget[] = c.sizes.map((_, i) => ({ boxes: load(`${c.name}/boxes${i}`), labels: load(`${c.name}/labels${i}`), masks: load(`${c.name}/masks${i}`) }));
      if (c.seed !== undefined) torch.manualSeed(c.seed);
      const out = t.forward(images, targets);
      assert.deepEqual(out.images.imageSizes, c.imageSizes);
      if (!c.training) {
        const e = maxDiff(out.images.tensors, load(`${c.name}/batch`));
        assert.ok(e < 1e-5, `batch differs by ${e}`);
      }
      out.targets!.forEach((target, i) => {
        const e = maxDiff(target.boxes, load(`${c.name}/out_boxes${i}`));
        assert.ok(e < 1e-5, `image ${i}: boxes differ by ${e}`);
        assert.equal(target.masks!.dtype, 'uint8');
        assert.equal(maxDiff(target.masks!, load(`${c.name}/out_masks${i}`)), 0, `image ${i}: masks differ`);
        assert.deepEqual(target.labels.toArray(), targets[i].labels.toArray());
      });
    });
  });
}

interface PostCase { name: string; imageSizes: [number, number][]; originalSizes: [number, number][] }
const post = JSON.parse(file.metadata.postprocess) as PostCase[];

for (const c of post) {
  test(`${c.name}: postprocess gives torchvision's boxes and pasted masks (boxes over the edges, under a pixel)`, () => {
    const t = new GeneralizedRCNNTransform({ minSize: 64, maxSize: 100 }).eval();
    torch.tidy(() => {
      const result: Detection[] = c.imageSizes.map((_, i) => ({
        boxes: load(`${c.name}/pred_boxes${i}`), masks: load(`${c.name}/pred_masks${i}`), labels: torch.ones([6], { dtype: 'int64' }), scores: torch.zeros([6]),
      }));
      const out = t.postprocess(result, c.imageSizes, c.originalSizes);
      out.forEach((det, i) => {
        const eb = maxDiff(det.boxes, load(`${c.name}/post_boxes${i}`));
        assert.ok(eb < 1e-5, `image ${i}: boxes differ by ${eb}`);
        const em = maxDiff(det.masks!, load(`${c.name}/post_masks${i}`));
        assert.ok(em < 1e-5, `image ${i}: pasted masks differ by ${em}`);
        assert.equal(det.labels, result[i].labels, 'labels are passed through');
      });
      // training mode leaves detections as they are (torchvision returns them unchanged)
      assert.equal(t.train().postprocess(result, c.imageSizes, c.originalSizes), result);
    });
  });
}

test('postprocess of an image without detections gives empty boxes and (0, 1, H, W) masks', () => {
  const t = new GeneralizedRCNNTransform({ minSize: 64, maxSize: 100 }).eval();
  torch.tidy(() => {
    const empty: Detection = { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: 'int64' }), scores: torch.zeros([0]), masks: torch.zeros([0, 1, 28, 28]) };
    const [out] = t.postprocess([empty], [[64, 89]], [[50, 70]]);
    assert.deepEqual([out.boxes.shape, out.masks!.shape], [[0, 4], [0, 1, 50, 70]]);
  });
});

test('pasteMasksInImage: no masks gives (0, 1, H, W); mismatched shapes are an error naming them', () => {
  torch.tidy(() => {
    assert.deepEqual(pasteMasksInImage(torch.zeros([0, 1, 28, 28]), torch.zeros([0, 4]), [20, 30]).shape, [0, 1, 20, 30]);
    assert.throws(() => pasteMasksInImage(torch.zeros([2, 28, 28]), torch.zeros([2, 4]), [20, 30]), /expected masks \(K, 1, M, M\) and boxes \(K, 4\), got masks \[2, 28, 28\]/);
  });
});

test('the transform rejects integer images, 2-D images and a target count that differs', () => {
  const t = new GeneralizedRCNNTransform({ minSize: 32, maxSize: 64 });
  torch.tidy(() => {
    assert.throws(() => t.forward([torch.zeros([3, 8, 8], { dtype: 'uint8' })]), /floating point in 0..1, got uint8; convert with image.float\(\).div\(255\)/);
    assert.throws(() => t.forward([torch.zeros([8, 8])]), /image 0 has shape \[8, 8\]/);
    assert.throws(() => t.forward([torch.zeros([3, 8, 8])], []), /1 images but 0 targets/);
  });
});
