// A loader batch as the inputs of a torchvision-style detector (Mask R-CNN): a list of (3, H, W)
// float32 images in 0..1, each at its own size, and one DetectionTarget per image (boxes
// float32, labels int64, masks uint8 (G, H, W)). Crowd instances are left out of the targets,
// as torchvision's references do for training (they only matter to COCO evaluation).
//
//   const loader = new DataLoader(ds, { batchSize: 2, imageList: true, transform: [{ preset: 'lsj', size: 512 }] });
//   for await (const batch of loader) {
//     const { images, targets } = detectionInputs(batch);
//     ... model.forward(images, targets) ...
//     disposeDetectionInputs({ images, targets });
//   }
import { tensor, type Tensor } from '../torch/index.js';
import type { DetectionTarget } from '../models/detection/types.js';
import type { Batch, Instance, SampleRef } from './types.js';

export interface DetectionInputs {
  /** (C, H, W) float32 in 0..1, one per image. */
  images: Tensor[];
  targets: DetectionTarget[];
}

export interface DetectionInputOptions {
  /** Keep crowd instances (iscrowd) in the targets. Default false. */
  keepCrowd?: boolean;
  /** Build target masks. Default: when the instances carry masks. */
  masks?: boolean;
}

/** The images of a batch as (C, H, W) float arrays: its list, or slices of its (N, C, H, W) array. */
function imagesOf(batch: Batch): { data: Float32Array; shape: [number, number, number] }[] {
  if (batch.list) return batch.list.map((b) => ({ data: b.image, shape: b.shape }));
  const [N, C, H, W] = batch.shape;
  const n = C * H * W;
  return Array.from({ length: N }, (_, i) => ({ data: batch.images.subarray(i * n, (i + 1) * n), shape: [C, H, W] as [number, number, number] }));
}

function checkUnitRange(data: Float32Array, ref: SampleRef): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new Error(
        `detectionInputs: image "${ref.id}" (${ref.imagePath}) has value ${v} outside 0..1; a detector takes unnormalised 0..1 images ` +
          '(it normalises them itself): leave the normalize step out of the transform',
      );
    }
  }
}

/** One image's target from its instances (H x W image). */
export function instancesToTarget(instances: readonly Instance[], H: number, W: number, ref: SampleRef, opts: DetectionInputOptions = {}): DetectionTarget {
  const kept = opts.keepCrowd ? instances : instances.filter((inst) => !inst.iscrowd);
  const G = kept.length;
  const boxes = new Float32Array(G * 4);
  const labels = new BigInt64Array(G);
  kept.forEach((inst, g) => {
    boxes.set(inst.box, g * 4);
    labels[g] = BigInt(inst.label);
  });
  const withMasks = opts.masks ?? kept.some((inst) => inst.mask);
  const target: DetectionTarget = { boxes: tensor(boxes, { shape: [G, 4] }), labels: tensor(labels, { shape: [G] }) };
  if (!withMasks) return target;
  const masks = new Uint8Array(G * H * W);
  kept.forEach((inst, g) => {
    if (!inst.mask || inst.mask.length !== H * W) {
      target.boxes.dispose();
      target.labels.dispose();
      throw new Error(
        `detectionInputs: image "${ref.id}" (${ref.imagePath}): instance ${g} (label ${inst.label}) ${inst.mask ? `has a mask of ${inst.mask.length} pixels, not ${H}x${W}` : 'has no mask'}; ` +
          'a mask head needs every instance mask (or pass masks: false)',
      );
    }
    masks.set(inst.mask, g * H * W);
  });
  target.masks = tensor(masks, { shape: [G, H, W] });
  return target;
}

/** A batch (an imageList loader's, or an equal-size one) as detector inputs; dispose them with disposeDetectionInputs. */
export function detectionInputs(batch: Batch, opts: DetectionInputOptions = {}): DetectionInputs {
  const imgs = imagesOf(batch);
  imgs.forEach((im, i) => checkUnitRange(im.data, batch.refs[i]!));
  const targets: DetectionTarget[] = [];
  try {
    imgs.forEach((im, i) => targets.push(instancesToTarget(batch.instances?.[i] ?? [], im.shape[1], im.shape[2], batch.refs[i]!, opts)));
  } catch (e) {
    disposeDetectionInputs({ images: [], targets });
    throw e;
  }
  return { images: imgs.map((im) => tensor(im.data, { shape: im.shape })), targets };
}

/** Free every tensor of detectionInputs' result. */
export function disposeDetectionInputs(inputs: DetectionInputs): void {
  for (const t of inputs.images) t.dispose();
  for (const t of inputs.targets) {
    t.boxes.dispose();
    t.labels.dispose();
    t.masks?.dispose();
  }
}
