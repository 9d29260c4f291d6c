// Pasting the RoI heads' small mask probabilities (K, 1, M, M) into whole images, as
// torchvision.models.detection.roi_heads.paste_masks_in_image (0.14) does: each mask gets a border
// of `padding` zeros (expand_masks), its box grows by (M + 2·padding) / M about its centre
// (expand_boxes) and is truncated to whole pixels, the mask is resized bilinearly to the box's
// (w + 1) x (h + 1) pixels (at least 1 x 1) and the part inside the image is pasted onto zeros
// (paste_mask_in_image). Used by GeneralizedRCNNTransform's postprocess.
import { F, stack, tidy, zeros, type Tensor } from '../torch/index.js';

/** expand_boxes: (K, 4) x1, y1, x2, y2 scaled by `scale` about their centres, in the boxes' dtype. */
export function expandBoxes(boxes: Tensor, scale: number): Tensor {
  return tidy(() => {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((i) => boxes.select(1, i));
    const wHalf = x2.sub(x1).mul(0.5).mul(scale);
    const hHalf = y2.sub(y1).mul(0.5).mul(scale);
    const xc = x2.add(x1).mul(0.5);
    const yc = y2.add(y1).mul(0.5);
    return stack([xc.sub(wHalf), yc.sub(hHalf), xc.add(wHalf), yc.add(hHalf)], 1);
  });
}

/** expand_masks: (K, 1, M, M) with `padding` zeros on every side, and the scale that keeps its pixels their size. */
export function expandMasks(masks: Tensor, padding: number): { masks: Tensor; scale: number } {
  const m = masks.size(-1);
  return { masks: F.pad(masks, [padding, padding, padding, padding]), scale: (m + 2 * padding) / m };
}

/**
 * paste_mask_in_image for one (M, M) mask and one whole-pixel box [x1, y1, x2, y2]: an (imH, imW)
 * image of zeros holding the mask resized to the box where the box lies inside the image.
 */
export function pasteMaskInImage(mask: Tensor, box: number[], imH: number, imW: number): Tensor {
  const [bx1, by1, bx2, by2] = box;
  return tidy(() => {
    const w = Math.max(bx2 - bx1 + 1, 1);
    const h = Math.max(by2 - by1 + 1, 1);
    const resized = F.interpolate(mask.expand(1, 1, -1, -1), { size: [h, w], mode: 'bilinear', alignCorners: false }).select(0, 0).select(0, 0);
    // the part of the box inside the image; torchvision's slices are empty when the box misses it
    const x0 = Math.max(bx1, 0);
    const x1 = Math.min(bx2 + 1, imW);
    const y0 = Math.max(by1, 0);
    const y1 = Math.min(by2 + 1, imH);
    if (x1 <= x0 || y1 <= y0) return zeros([imH, imW], { dtype: mask.dtype, device: mask.device });
    const inside = resized.slice(0, y0 - by1, y1 - by1).slice(1, x0 - bx1, x1 - bx1);
    return F.pad(inside, [x0, imW - x1, y0, imH - y1]);
  });
}

/**
 * paste_masks_in_image: `masks` (K, 1, M, M) probabilities inside `boxes` (K, 4) x1, y1, x2, y2 of
 * an image of `[height, width]` → (K, 1, height, width), zero outside each (grown) box.
 */
export function pasteMasksInImage(masks: Tensor, boxes: Tensor, imageSize: [number, number], padding = 1): Tensor {
  const [imH, imW] = imageSize;
  if (masks.ndim !== 4 || masks.size(1) !== 1 || boxes.ndim !== 2 || boxes.size(0) !== masks.size(0) || boxes.size(1) !== 4) {
    throw new Error(`pasteMasksInImage: expected masks (K, 1, M, M) and boxes (K, 4), got masks [${masks.shape.join(', ')}] and boxes [${boxes.shape.join(', ')}]`);
  }
  return tidy(() => {
    if (masks.size(0) === 0) return zeros([0, 1, imH, imW], { dtype: masks.dtype, device: masks.device });
    const expanded = expandMasks(masks, padding);
    // whole pixels by truncation toward zero (torchvision's .to(torch.int64))
    const whole = expandBoxes(boxes, expanded.scale).to('int64').toArray();
    const pasted = [];
    for (let i = 0; i < masks.size(0); i++) pasted.push(pasteMaskInImage(expanded.masks.select(0, i).select(0, 0), whole.slice(4 * i, 4 * i + 4), imH, imW));
    return stack(pasted, 0).unsqueeze(1);
  });
}
