// The mask branch's heads as torchvision.models.detection.mask_rcnn (0.14) has them:
// MaskRCNNHeads (3x3 Conv2dNormActivation blocks on the 14x14 pooled features, keys `<i>.0.*`;
// v1 without norm, v2 with BatchNorm2d; files from before torchvision 0.13 name the convs
// `mask_fcn<i+1>.*`, renamed on load as torchvision's _load_from_state_dict does) and
// MaskRCNNPredictor (`conv5_mask`, a stride-2 transposed conv to 28x28, ReLU, then
// `mask_fcn_logits`, a 1x1 conv to one mask logit map per class).
// Initialisation as torchvision: kaiming_normal_(fan_out, relu) weights; MaskRCNNHeads' biases
// zero, MaskRCNNPredictor's biases PyTorch's default.
import type { Tensor } from '../../torch/index.js';
import { Conv2d, Conv2dNormActivation, ConvTranspose2d, Module, ReLU, Sequential, init, type NormFactory } from '../../nn/index.js';

/** Mask R-CNN's mask head: four 3x3 convs of 256 channels in both versions. */
export class MaskRCNNHeads extends Sequential {
  /** `layers`: output channels of each conv; `dilation`: of every conv (1 in Mask R-CNN); `norm`: v2's BatchNorm2d. */
  constructor(inChannels: number, layers: number[], dilation: number, norm: NormFactory | null = null) {
    const blocks: Module[] = [];
    let next = inChannels;
    for (const channels of layers) {
      blocks.push(new Conv2dNormActivation(next, channels, 3, { padding: dilation, dilation, norm }));
      next = channels;
    }
    super(...blocks);
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      if (m.bias) init.zeros_(m.bias);
    }
  }

  // torchvision < 0.13 (the v1 COCO weights): mask_fcn1.weight ... → 0.0.weight ...
  protected override upgradeStateDict(state: Map<string, unknown>, prefix: string): void {
    for (let i = 0; i < this.length; i++) {
      for (const kind of ['weight', 'bias']) {
        const old = `${prefix}mask_fcn${i + 1}.${kind}`;
        if (!state.has(old)) continue;
        state.set(`${prefix}${i}.0.${kind}`, state.get(old));
        state.delete(old);
      }
    }
  }
}

/** Upsamples the mask head's features 2x and predicts a mask logit map per class. */
export class MaskRCNNPredictor extends Sequential {
  declare conv5_mask: ConvTranspose2d;
  declare relu: ReLU;
  declare mask_fcn_logits: Conv2d;

  /** `numClasses` counts the background; Mask R-CNN: inChannels 256, dimReduced 256. */
  constructor(inChannels: number, dimReduced: number, numClasses: number) {
    super([
      ['conv5_mask', new ConvTranspose2d(inChannels, dimReduced, 2, { stride: 2, padding: 0 })],
      ['relu', new ReLU({ inplace: true })],
      ['mask_fcn_logits', new Conv2d(dimReduced, numClasses, 1)],
    ]);
    for (const [name, p] of this.namedParameters()) {
      if (name.includes('weight')) init.kaimingNormal_(p, { mode: 'fan_out', nonlinearity: 'relu' });
    }
  }

  /** (K, C, 14, 14) → mask logits (K, numClasses, 28, 28) */
  override forward(x: Tensor): Tensor {
    return super.forward(x);
  }
}
