// Box utilities with torchvision.ops' names and numerics (box_area, box_iou, generalized_box_iou,
// clip_boxes_to_image, remove_small_boxes, box_convert), in segkit's camelCase. Boxes are (N, 4)
// tensors, (x1, y1, x2, y2) unless a format says otherwise. Every function runs in a tidy scope:
// only its result outlives it.
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import { stack } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';

export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';
const FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** Checks an (N, 4) box tensor; `who` names the caller in the error. */
export function checkBoxes(who: string, boxes: Tensor, name = 'boxes'): void {
  const s = boxes.shape;
  if (s.length !== 2 || s[1] !== 4) throw new Error(`${who}: ${name} must have shape (N, 4); got [${s}]`);
}

// As torchvision's _upcast: products of half floats or small ints could overflow, so area and
// IoU are computed in float32 (or int32) for those types.
function upcast(t: Tensor): Tensor {
  switch (t.dtype) {
    case 'float16':
    case 'bfloat16':
      return t.float();
    case 'int8':
    case 'int16':
    case 'uint8':
      return t.int();
    default:
      return t;
  }
}

const col = (boxes: Tensor, i: number): Tensor => boxes.select(1, i);

/** Area of each (x1, y1, x2, y2) box: (N, 4) → (N). */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes('boxArea', boxes);
  return tidy(() => {
    const b = upcast(boxes);
    return col(b, 2).sub(col(b, 0)).mul(col(b, 3).sub(col(b, 1)));
  });
}

// Intersection (N, M) and union (N, M) of every pair, in torchvision's order of operations.
function interUnion(boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const area1 = boxArea(boxes1);
  const area2 = boxArea(boxes2);
  const lt = op('maximum', boxes1.slice(1, 0, 2).unsqueeze(1), boxes2.slice(1, 0, 2)); // (N, M, 2)
  const rb = op('minimum', boxes1.slice(1, 2, 4).unsqueeze(1), boxes2.slice(1, 2, 4));
  const wh = upcast(rb.sub(lt)).clamp(0);
  const inter = wh.select(2, 0).mul(wh.select(2, 1));
  const union = area1.unsqueeze(1).add(area2).sub(inter);
  return [inter, union];
}

/** Pairwise intersection over union: (N, 4) and (M, 4) → (N, M). */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkBoxes('boxIou', boxes1, 'boxes1');
  checkBoxes('boxIou', boxes2, 'boxes2');
  return tidy(() => {
    const [inter, union] = interUnion(boxes1, boxes2);
    return inter.div(union);
  });
}

/** Pairwise generalized IoU (Rezatofighi et al. 2019): IoU − (hull − union) / hull, (N, M). */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  checkBoxes('generalizedBoxIou', boxes1, 'boxes1');
  checkBoxes('generalizedBoxIou', boxes2, 'boxes2');
  return tidy(() => {
    const [inter, union] = interUnion(boxes1, boxes2);
    const iou = inter.div(union);
    const lti = op('minimum', boxes1.slice(1, 0, 2).unsqueeze(1), boxes2.slice(1, 0, 2));
    const rbi = op('maximum', boxes1.slice(1, 2, 4).unsqueeze(1), boxes2.slice(1, 2, 4));
    const whi = upcast(rbi.sub(lti)).clamp(0);
    const hull = whi.select(2, 0).mul(whi.select(2, 1));
    return iou.sub(hull.sub(union).div(hull));
  });
}

/** Clamps x to [0, width] and y to [0, height]; `size` is [height, width] as in torchvision. Any (..., 4). */
export function clipBoxesToImage(boxes: Tensor, size: [number, number]): Tensor {
  const [height, width] = size;
  return tidy(() => {
    const d = boxes.ndim;
    const xs = boxes.slice(d - 1, 0, undefined, 2).clamp(0, width);
    const ys = boxes.slice(d - 1, 1, undefined, 2).clamp(0, height);
    // stacking on a new last dim interleaves x1, y1, x2, y2 again
    return stack([xs, ys], d).reshape(boxes.shape);
  });
}

/** Indices (int64) of the boxes whose width and height are both at least `minSize`. */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxes('removeSmallBoxes', boxes);
  return tidy(() => {
    const ws = col(boxes, 2).sub(col(boxes, 0));
    const hs = col(boxes, 3).sub(col(boxes, 1));
    return op('nonzero', ws.ge(minSize).logicalAnd(hs.ge(minSize))).reshape(-1);
  });
}

function toXyxy(boxes: Tensor, fmt: BoxFormat): Tensor {
  const [a, b, c, d] = op('unbind.int', boxes, -1);
  if (fmt === 'xywh') return stack([a, b, a.add(c), b.add(d)], -1);
  if (fmt === 'cxcywh') {
    const hw = c.mul(0.5);
    const hh = d.mul(0.5);
    return stack([a.sub(hw), b.sub(hh), a.add(hw), b.add(hh)], -1);
  }
  return boxes;
}

function fromXyxy(boxes: Tensor, fmt: BoxFormat): Tensor {
  const [x1, y1, x2, y2] = op('unbind.int', boxes, -1);
  if (fmt === 'xywh') return stack([x1, y1, x2.sub(x1), y2.sub(y1)], -1);
  if (fmt === 'cxcywh') return stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
  return boxes;
}

/** Converts boxes between 'xyxy', 'xywh' (corner, size) and 'cxcywh' (centre, size); always a new tensor. */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  for (const f of [inFmt, outFmt]) {
    if (!FORMATS.includes(f)) throw new Error(`boxConvert: unknown box format '${f}'; use one of ${FORMATS.join(', ')}`);
  }
  if (inFmt === outFmt) return boxes.clone();
  return tidy(() => fromXyxy(toXyxy(boxes, inFmt), outFmt));
}
