// A loader batch through a detector and against its own objects: the detections of its images
// (eval mode, on the CPU whatever the model's device), each image's size, and its instances as
// COCO ground truth. Training's validation (src/train/instance.ts) and `segkit eval` share them.
import type { Tensor } from '../../torch/index.js';
import type { Module } from '../../nn/index.js';
import { detectionInputs } from '../../data/detection-inputs.js';
import type { Batch, Instance } from '../../data/types.js';
import type { Detection, DetectionLosses, DetectionTarget } from '../../models/detection/types.js';
import { encodeMask, type CocoAnnotation } from '../../metrics/coco/index.js';
import type { DetectionArrays } from './detections.js';

/** A torchvision-style detector: losses in training mode (with targets), detections in eval mode. */
export type Detector = Module & { forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | DetectionLosses };

/** Detections of a batch's images (eval mode), boxes, labels, scores and pasted masks on the CPU. */
export function detectBatch(model: Module, batch: Batch, place: { device: string }): Detection[] {
  const { images } = detectionInputs(batch, { masks: false });
  const dets = (model as Detector).call(place.device === 'cpu' ? images : images.map((t) => t.to({ device: place.device }))) as Detection[];
  if (place.device === 'cpu') return dets;
  const cpu = (t: Tensor) => t.to({ device: 'cpu' });
  return dets.map((d) => ({ boxes: cpu(d.boxes), labels: cpu(d.labels), scores: cpu(d.scores), ...(d.masks ? { masks: cpu(d.masks) } : {}) }));
}

/** [height, width] of each image of a batch (an image list's, or the (N, C, H, W) batch's). */
export function imageSizes(batch: Batch): [number, number][] {
  if (batch.list) return batch.list.map((b) => [b.shape[1], b.shape[2]]);
  const [N, , H, W] = batch.shape;
  return Array.from({ length: N }, () => [H, W]);
}

/** COCO ground truth of one image's instances (category id = label). */
export function annotationsOf(instances: readonly Instance[], imageId: number, H: number, W: number, firstId: number): CocoAnnotation[] {
  return instances.map((inst, k) => {
    const [x1, y1, x2, y2] = inst.box;
    let area = (x2 - x1) * (y2 - y1);
    if (inst.mask) {
      area = 0;
      for (let i = 0; i < inst.mask.length; i++) area += inst.mask[i] ? 1 : 0;
    }
    return {
      id: firstId + k,
      image_id: imageId,
      category_id: inst.label,
      bbox: [x1, y1, x2 - x1, y2 - y1],
      // the area at the size validated (augmentations resize), which decides small/medium/large
      area,
      iscrowd: inst.iscrowd ? 1 : 0,
      ...(inst.mask ? { segmentation: encodeMask(inst.mask, H, W) } : {}),
    };
  });
}

/** The ground-truth instances as detections to draw (score 1). */
export function truthArrays(instances: readonly Instance[], H: number, W: number): DetectionArrays {
  const withMasks = instances.length > 0 && instances.every((inst) => inst.mask);
  return {
    boxes: Float32Array.from(instances.flatMap((inst) => inst.box)),
    labels: Int32Array.from(instances.map((inst) => inst.label)),
    scores: new Float32Array(instances.length).fill(1),
    ...(withMasks ? { masks: instances.map((inst) => inst.mask!), height: H, width: W } : {}),
  };
}
