// What every semantic segmentation model shares: the output contract `{ out, aux? }` (logits at
// the input's size, as torchvision returns them), torchvision's composition of a backbone, a
// classifier and an optional auxiliary classifier, and padding for models that need a multiple.
import { Tensor, F, isTracing, traceHint } from '../torch/index.js';
import { Module } from '../nn/index.js';
import type { IntermediateLayerGetter } from './backbones/features.js';

/**
 * What a semantic model's call returns: `out`, logits (N, numClasses, H, W) at the input's size,
 * and `aux`, the auxiliary head's logits (training only adds its loss), when the model has one.
 */
export interface SegmentationOutput {
  out: Tensor;
  aux?: Tensor;
}

/** A semantic segmentation model: call(x) gives `{ out, aux? }`. */
export interface SegmentationModel extends Module {
  forward(x: Tensor): SegmentationOutput;
  readonly numClasses: number;
}

/** Bilinear resize of logits to `size` (torchvision's choice: align_corners false). */
export function resizeLogits(x: Tensor, size: [number, number]): Tensor {
  const [h, w] = x.shape.slice(2);
  if (h === size[0] && w === size[1]) return x;
  return F.interpolate(x, { size, mode: 'bilinear', alignCorners: false });
}

/** The spatial size [H, W] of an (N, C, H, W) tensor. */
export const spatialSize = (x: Tensor): [number, number] => {
  const s = x.shape;
  return [s[s.length - 2], s[s.length - 1]];
};

/**
 * torchvision's _SimpleSegmentationModel: features = backbone(x); out = classifier(features.out),
 * aux = aux_classifier(features.aux), both resized to the input.
 */
export class SimpleSegmentationModel extends Module implements SegmentationModel {
  declare backbone: IntermediateLayerGetter;
  declare classifier: Module;
  declare aux_classifier: Module | undefined;
  readonly numClasses: number;

  constructor(backbone: IntermediateLayerGetter, classifier: Module, auxClassifier: Module | undefined, numClasses: number) {
    super();
    this.backbone = backbone;
    this.classifier = classifier;
    this.registerModule('aux_classifier', auxClassifier);
    this.numClasses = numClasses;
  }

  override forward(x: Tensor): SegmentationOutput {
    const size = spatialSize(x);
    const features = this.backbone.call(x);
    const out = resizeLogits(this.classifier.call(features.out), size);
    if (this.aux_classifier === undefined) return { out };
    return { out, aux: resizeLogits(this.aux_classifier.call(features.aux), size) };
  }
}

/**
 * Runs `fn` on `x` padded (zeros, right and bottom) to a multiple of `multiple`, and crops every
 * output back to the input's size: for models whose down- and up-sampling need a multiple of 32.
 * While an op trace runs it pads (maybe by 0) and crops at every size, so an exported graph
 * has the padding for the sizes it will meet.
 */
export function padToMultiple(x: Tensor, multiple: number, fn: (padded: Tensor) => SegmentationOutput): SegmentationOutput {
  const [h, w] = spatialSize(x);
  const ph = Math.ceil(h / multiple) * multiple - h;
  const pw = Math.ceil(w / multiple) * multiple - w;
  // a trace (ONNX export) takes the padding path at every size, with the rule as a hint
  if (ph === 0 && pw === 0 && !isTracing()) return fn(x);
  const padded = F.pad(x, [0, pw, 0, ph]);
  traceHint('padToMultiple', { input: x, output: padded, multiple });
  const y = fn(padded);
  const crop = (t: Tensor): Tensor => t.narrow(2, 0, h).narrow(3, 0, w);
  return y.aux === undefined ? { out: crop(y.out) } : { out: crop(y.out), aux: crop(y.aux) };
}
