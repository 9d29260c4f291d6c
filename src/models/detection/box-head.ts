// The box branch's heads as torchvision.models.detection.faster_rcnn (0.14) has them:
// TwoMLPHead (Mask R-CNN v1: two fully connected layers `fc6`, `fc7` with ReLU on the flattened
// 7x7 pooled features), FastRCNNConvFCHead (v2: 3x3 Conv2dNormActivation blocks, then Flatten and
// Linear + ReLU layers, as one Sequential: `0.0.weight`, ..., `5.weight`), and FastRCNNPredictor
// (`cls_score`: one logit per class with the background; `bbox_pred`: four box deltas per class).
// Initialisation as torchvision: the Linear layers keep PyTorch's default, the convs of
// FastRCNNConvFCHead get kaiming_normal_(fan_out, relu) weights and zero biases.
import { F, type Tensor } from '../../torch/index.js';
import { Conv2d, Conv2dNormActivation, Flatten, Linear, Module, ReLU, Sequential, init, type NormFactory } from '../../nn/index.js';

/** Two fully connected layers on the flattened RoI features (Mask R-CNN v1's box head). */
export class TwoMLPHead extends Module {
  declare fc6: Linear;
  declare fc7: Linear;

  /** `inChannels`: channels · 7 · 7 of the pooled features; `representationSize`: 1024 in Mask R-CNN. */
  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = new Linear(inChannels, representationSize);
    this.fc7 = new Linear(representationSize, representationSize);
  }

  /** (K, C, 7, 7) → (K, representationSize) */
  override forward(x: Tensor): Tensor {
    return F.relu(this.fc7.forward(F.relu(this.fc6.forward(x.flatten(1)))));
  }
}

/** Convolutions, then fully connected layers (Mask R-CNN v2's box head: 4 convs of 256 with BatchNorm, one fc of 1024). */
export class FastRCNNConvFCHead extends Sequential {
  /**
   * `inputSize`: [channels, height, width] of the pooled features; `norm`: the conv blocks'
   * normalisation (v2: BatchNorm2d), none by default as in torchvision.
   */
  constructor(inputSize: [number, number, number], convLayers: number[], fcLayers: number[], norm: NormFactory | null = null) {
    const [inChannels, height, width] = inputSize;
    const blocks: Module[] = [];
    let previous = inChannels;
    for (const channels of convLayers) {
      blocks.push(new Conv2dNormActivation(previous, channels, 3, { norm }));
      previous = channels;
    }
    blocks.push(new Flatten());
    previous *= height * width;
    for (const features of fcLayers) {
      blocks.push(new Linear(previous, features), new ReLU({ inplace: true }));
      previous = features;
    }
    super(...blocks);
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      if (m.bias) init.zeros_(m.bias);
    }
  }
}

/** Class logits and per-class box deltas from the box head's representation. */
export class FastRCNNPredictor extends Module {
  declare cls_score: Linear;
  declare bbox_pred: Linear;

  /** `numClasses` counts the background (class 0). */
  constructor(inChannels: number, numClasses: number) {
    super();
    this.cls_score = new Linear(inChannels, numClasses);
    this.bbox_pred = new Linear(inChannels, numClasses * 4);
  }

  /** (K, C) or (K, C, 1, 1) → class logits (K, numClasses) and box deltas (K, 4·numClasses). */
  override forward(x: Tensor): [Tensor, Tensor] {
    if (x.ndim === 4 && (x.size(2) !== 1 || x.size(3) !== 1)) {
      throw new Error(`FastRCNNPredictor: a 4-d input must be (K, C, 1, 1); got [${x.shape}] (flatten it, or pool it to 1x1)`);
    }
    const flat = x.flatten(1);
    return [this.cls_score.forward(flat), this.bbox_pred.forward(flat)];
  }
}
