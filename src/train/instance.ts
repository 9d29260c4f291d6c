// Instance segmentation in the Trainer. A torchvision-style detector (Mask R-CNN, src/models/
// detection/) takes a list of 0..1 images and their targets and returns its named losses in
// training mode, its detections in eval mode; the total loss is the sum of the terms, as in
// torchvision's detection reference. Validation scores the detections with COCO's bbox and segm
// AP (src/metrics/coco, pycocotools' numbers) against the validation batches' own instances, so
// any instance source (COCO JSON, the bundled shapes) validates the same way.
import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { detectionInputs } from '../data/detection-inputs.js';
import type { Batch } from '../data/types.js';
import type { Detection, DetectionLosses, DetectionTarget } from '../models/detection/types.js';
import { evaluateCoco, toCocoResults, COCO_STAT_NAMES, type CocoGroundTruth, type CocoResult, type IouType } from '../metrics/coco/index.js';
import { readDetection } from '../predict/instances/detections.js';
import { annotationsOf, detectBatch, imageSizes, type Detector } from '../predict/instances/batch.js';
import type { Evaluator } from './defaults.js';
import type { Placement, TrainTask } from './task.js';

function onDevice(images: Tensor[], targets: DetectionTarget[], device: string): { images: Tensor[]; targets: DetectionTarget[] } {
  if (device === 'cpu') return { images, targets };
  const to = (t: Tensor) => t.to({ device });
  return { images: images.map(to), targets: targets.map((t) => ({ boxes: to(t.boxes), labels: to(t.labels), ...(t.masks ? { masks: to(t.masks) } : {}) })) };
}

/** Training and validation of a detector that returns its own losses (Mask R-CNN). */
export function instanceTask(): TrainTask {
  return {
    kind: 'instance',
    loss(model: Module, batch: Batch, place: Placement) {
      const inputs = detectionInputs(batch);
      const { images, targets } = onDevice(inputs.images, inputs.targets, place.device);
      const losses = (model as Detector).call(images, targets) as DetectionLosses;
      const terms = Object.values(losses);
      if (terms.length === 0) throw new Error('Trainer: the instance model returned no losses in training mode; is it a detector that returns its loss terms (Mask R-CNN)?');
      const total = terms.slice(1).reduce((a, b) => a.add(b), terms[0]!);
      return { total, terms: losses };
    },
    evaluate(model: Module, batch: Batch, evaluator: Evaluator<Detection[], Batch>, place: Placement) {
      evaluator.update(detectBatch(model, batch, place), batch);
    },
  };
}

/**
 * COCO bbox and segm AP of detections against the batches' instances, accumulated over a
 * validation pass: metrics 'segm.AP', 'segm.AP50', ..., 'bbox.AP', ... (pycocotools' 12 numbers
 * each; -1 where there is nothing to score, as pycocotools prints). `classNames[0]` is the
 * background; labels 1..K are the categories.
 */
export function cocoEvaluator(classNames: readonly string[], opts: { segm?: boolean } = {}): Evaluator<Detection[], Batch> {
  const segm = opts.segm ?? true;
  const gt: CocoGroundTruth = { images: [], annotations: [], categories: classNames.slice(1).map((name, i) => ({ id: i + 1, name })) };
  const categoryIds = gt.categories.map((c) => c.id);
  const results: Record<IouType, CocoResult[]> = { bbox: [], segm: [] };
  return {
    update(dets: Detection[], batch: Batch) {
      const sizes = imageSizes(batch);
      dets.forEach((d, i) => {
        const [H, W] = sizes[i]!;
        const imageId = gt.images.length + 1;
        gt.images.push({ id: imageId, height: H, width: W });
        gt.annotations.push(...annotationsOf(batch.instances?.[i] ?? [], imageId, H, W, gt.annotations.length + 1));
        if (segm && !d.masks) throw new Error('cocoEvaluator: the detections carry no masks; build it with { segm: false } for a box-only detector');
        const found = { imageId, ...readDetection(segm ? d : { ...d, masks: undefined }), height: H, width: W };
        results.bbox.push(...toCocoResults([found], categoryIds, 'bbox'));
        if (segm) results.segm.push(...toCocoResults([found], categoryIds, 'segm'));
      });
    },
    compute() {
      const out: Record<string, number> = {};
      for (const iouType of segm ? (['segm', 'bbox'] as const) : (['bbox'] as const)) {
        const { stats } = evaluateCoco(gt, results[iouType], { iouType });
        for (const name of COCO_STAT_NAMES) out[`${iouType}.${name}`] = stats[name];
      }
      return out;
    },
  };
}
