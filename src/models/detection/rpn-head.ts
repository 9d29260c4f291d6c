// The RPN head as torchvision.models.detection.rpn.RPNHead (0.14): on every feature level, shared
// 3x3 conv + ReLU blocks (`conv.<i>.0.*`, Conv2dNormActivation without norm; Mask R-CNN v1 has one,
// v2 two), then a 1x1 conv to one objectness logit per anchor (`cls_logits`) and one to four box
// deltas per anchor (`bbox_pred`). concatBoxPredictionLayers flattens the per-level outputs into
// the order AnchorGenerator lays anchors out in (image, level, row, column, anchor).
import { cat, tidy, type Tensor } from '../../torch/index.js';
import { Conv2d, Conv2dNormActivation, Module, Sequential, init } from '../../nn/index.js';

export class RPNHead extends Module {
  declare conv: Sequential;
  declare cls_logits: Conv2d;
  declare bbox_pred: Conv2d;

  /** `numAnchors`: anchors per location (AnchorGenerator.numAnchorsPerLocation()[0]). */
  constructor(inChannels: number, numAnchors: number, convDepth = 1) {
    super();
    const convs = Array.from({ length: convDepth }, () => new Conv2dNormActivation(inChannels, inChannels, 3, { norm: null }));
    this.conv = new Sequential(...convs);
    this.cls_logits = new Conv2d(inChannels, numAnchors, 1);
    this.bbox_pred = new Conv2d(inChannels, numAnchors * 4, 1);
    // torchvision's initialisation: N(0, 0.01) weights, zero biases
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      init.normal_(m.weight, 0, 0.01);
      if (m.bias) init.zeros_(m.bias);
    }
  }

  // Files from before torchvision 0.13 (the v1 COCO weights) have a plain conv, `conv.weight`,
  // which torchvision renames to `conv.0.0.weight`.
  protected override upgradeStateDict(state: Map<string, unknown>, prefix: string): void {
    for (const kind of ['weight', 'bias']) {
      const old = `${prefix}conv.${kind}`;
      if (!state.has(old)) continue;
      state.set(`${prefix}conv.0.0.${kind}`, state.get(old));
      state.delete(old);
    }
  }

  /** Levels (N, C, Hᵢ, Wᵢ) → per level, logits (N, A, Hᵢ, Wᵢ) and deltas (N, 4A, Hᵢ, Wᵢ). */
  override forward(features: Tensor[]): { logits: Tensor[]; deltas: Tensor[] } {
    const logits: Tensor[] = [];
    const deltas: Tensor[] = [];
    for (const f of features) {
      // the shared conv output is a temporary; the two predictions outlive it
      const [l, d] = tidy(() => {
        const t = this.conv.forward(f);
        return [this.cls_logits.forward(t), this.bbox_pred.forward(t)];
      });
      logits.push(l);
      deltas.push(d);
    }
    return { logits, deltas };
  }
}

/** (N, A·C, H, W) → (N, H·W·A, C): per image, row, column, then anchor (torchvision's permute_and_flatten). */
export function permuteAndFlatten(layer: Tensor, n: number, a: number, c: number, h: number, w: number): Tensor {
  return tidy(() => layer.view(n, a, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c));
}

/**
 * Per-level head outputs → objectness (N·ΣHᵢWᵢA, 1) and deltas (N·ΣHᵢWᵢA, 4), images first, then
 * levels, matching the anchors of each image concatenated over levels.
 */
export function concatBoxPredictionLayers(logits: Tensor[], deltas: Tensor[]): { objectness: Tensor; deltas: Tensor } {
  if (logits.length !== deltas.length) {
    throw new Error(`concatBoxPredictionLayers: ${logits.length} levels of logits but ${deltas.length} of deltas`);
  }
  return tidy(() => {
    const cls: Tensor[] = [];
    const reg: Tensor[] = [];
    logits.forEach((l, i) => {
      const [n, ac, h, w] = l.shape;
      const a = Math.floor(deltas[i].size(1) / 4);
      cls.push(permuteAndFlatten(l, n, a, ac / a, h, w));
      reg.push(permuteAndFlatten(deltas[i], n, a, 4, h, w));
    });
    return { objectness: cat(cls, 1).flatten(0, -2), deltas: cat(reg, 1).reshape(-1, 4) };
  });
}
