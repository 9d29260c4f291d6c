// BoxCoder as torchvision.models.detection._utils.BoxCoder (Faster R-CNN's parametrisation, Girshick
// et al. 2014): a box relative to a reference box is (dx, dy, dw, dh) =
//   (wx·Δcx / w_ref, wy·Δcy / h_ref, ww·log(w / w_ref), wh·log(h / h_ref)).
// Decoding clamps dw, dh at bbox_xform_clip = log(1000/16) so exp() cannot blow up a box.
import { cat, stack } from '../torch/create.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { checkBoxes } from './boxes.js';

export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

export class BoxCoder {
  declare readonly weights: readonly [number, number, number, number];
  declare readonly bboxXformClip: number;

  /** `weights` (wx, wy, ww, wh): torchvision uses (1, 1, 1, 1) in the RPN and (10, 10, 5, 5) in the box head. */
  constructor(weights: readonly [number, number, number, number], bboxXformClip = BBOX_XFORM_CLIP) {
    this.weights = weights;
    this.bboxXformClip = bboxXformClip;
  }

  /** Per image: the targets of `proposals[i]` against `referenceBoxes[i]` (e.g. matched ground truth). */
  encode(referenceBoxes: Tensor[], proposals: Tensor[]): Tensor[] {
    return tidy(() => {
      const counts = referenceBoxes.map((b) => b.size(0));
      return this.encodeSingle(cat(referenceBoxes, 0), cat(proposals, 0)).split(counts, 0);
    });
  }

  /** (N, 4) reference boxes and (N, 4) proposals → (N, 4) regression targets. */
  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    checkBoxes('BoxCoder.encodeSingle', referenceBoxes, 'referenceBoxes');
    checkBoxes('BoxCoder.encodeSingle', proposals, 'proposals');
    const [wx, wy, ww, wh] = this.weights;
    return tidy(() => {
      const p = geometry(proposals);
      const g = geometry(referenceBoxes);
      const dx = g.cx.sub(p.cx).mul(wx).div(p.w);
      const dy = g.cy.sub(p.cy).mul(wy).div(p.h);
      const dw = g.w.div(p.w).log().mul(ww);
      const dh = g.h.div(p.h).log().mul(wh);
      return stack([dx, dy, dw, dh], 1);
    });
  }

  /**
   * Applies `relCodes` (sum of boxes, 4·K) to the boxes of every image (concatenated): (sum, K, 4).
   * As torchvision, when there are no boxes at all the codes are decoded as they come.
   */
  decode(relCodes: Tensor, boxes: Tensor[]): Tensor {
    return tidy(() => {
      const total = boxes.reduce((s, b) => s + b.size(0), 0);
      const codes = total > 0 ? relCodes.reshape(total, -1) : relCodes;
      const pred = this.decodeSingle(codes, cat(boxes, 0));
      return total > 0 ? pred.reshape(total, -1, 4) : pred;
    });
  }

  /** (N, 4·K) codes applied to (N, 4) reference boxes → (N, 4·K) boxes (x1, y1, x2, y2 per class). */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor {
    const [wx, wy, ww, wh] = this.weights;
    return tidy(() => {
      const r = geometry(boxes.to(relCodes.dtype));
      const k = relCodes.size(1);
      const dx = relCodes.slice(1, 0, k, 4).div(wx);
      const dy = relCodes.slice(1, 1, k, 4).div(wy);
      const dw = relCodes.slice(1, 2, k, 4).div(ww).clamp(undefined, this.bboxXformClip);
      const dh = relCodes.slice(1, 3, k, 4).div(wh).clamp(undefined, this.bboxXformClip);
      const cx = dx.mul(r.w.unsqueeze(1)).add(r.cx.unsqueeze(1));
      const cy = dy.mul(r.h.unsqueeze(1)).add(r.cy.unsqueeze(1));
      const halfW = dw.exp().mul(r.w.unsqueeze(1)).mul(0.5);
      const halfH = dh.exp().mul(r.h.unsqueeze(1)).mul(0.5);
      return stack([cx.sub(halfW), cy.sub(halfH), cx.add(halfW), cy.add(halfH)], 2).flatten(1);
    });
  }
}

// Width, height and centre of (N, 4) boxes, as torchvision computes them (x1 + 0.5·w).
function geometry(boxes: Tensor): { w: Tensor; h: Tensor; cx: Tensor; cy: Tensor } {
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((i) => boxes.select(1, i));
  const w = x2.sub(x1);
  const h = y2.sub(y1);
  return { w, h, cx: x1.add(w.mul(0.5)), cy: y1.add(h.mul(0.5)) };
}
