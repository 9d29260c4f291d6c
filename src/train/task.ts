// What the Trainer does with a batch, which depends on the task: semantic segmentation (a mask per
// image, a LossFn on the logits, an Evaluator fed logits and masks) here; instance segmentation
// (images and their objects, a detector that returns its own loss terms) in ./instance.ts. The
// loop around it (accumulation, autocast, loss scaling, clipping, checkpoints) is the same.
import type { Module } from '../nn/index.js';
import type { Tensor } from '../torch/index.js';
import { batchToTensors } from '../data/to-tensors.js';
import type { Batch } from '../data/types.js';
import type { SegmentationOutput } from '../models/segmentation.js';
import type { Evaluator, LossFn, LossResult } from './defaults.js';

/** Where the model is and in which memory layout it takes images. */
export interface Placement {
  /** 'cpu', 'cuda:0', ... */
  device: string;
  channelsLast: boolean;
}

export interface TrainTask {
  readonly kind: 'semantic' | 'instance';
  /** The forward pass and loss of a training batch (called with grad on, maybe under autocast). */
  loss(model: Module, batch: Batch, place: Placement): LossResult;
  /** One validation batch: the forward pass (inference mode is on) and the evaluator's update. */
  // the evaluator is the one the task's makeEvaluator gives (its update takes the task's outputs)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  evaluate(model: Module, batch: Batch, evaluator: Evaluator<any, any>, place: Placement): void;
}

/** Images (N, C, H, W) and masks (N, H, W) of a batch, on the model's device. */
function semanticTensors(batch: Batch, place: Placement, what: string): { images: Tensor; masks: Tensor } {
  const t = batchToTensors(batch, { channelsLast: place.channelsLast });
  if (!t.masks) throw new Error(`Trainer: a ${what} batch has no masks; semantic training needs a mask per image`);
  return place.device === 'cpu' ? { images: t.images, masks: t.masks } : { images: t.images.to({ device: place.device }), masks: t.masks.to({ device: place.device }) };
}

/** Semantic (and binary) segmentation: `loss` on the model's { out, aux } against the masks. */
export function semanticTask(loss: LossFn): TrainTask {
  return {
    kind: 'semantic',
    loss(model, batch, place) {
      const { images, masks } = semanticTensors(batch, place, 'training');
      return loss(model.call(images) as SegmentationOutput, masks);
    },
    evaluate(model, batch, evaluator, place) {
      const { images, masks } = semanticTensors(batch, place, 'validation');
      evaluator.update(model.call(images) as SegmentationOutput, masks);
    },
  };
}
