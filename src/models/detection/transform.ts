// What an R-CNN does to its images before the backbone and to its detections after the heads:
// torchvision.models.detection.transform.GeneralizedRCNNTransform (0.14). Forward: each (3, H, W)
// image in 0..1 is normalized, resized so its shorter side is minSize unless its longer side would
// pass maxSize (_resize_image_and_masks: bilinear, the size floor(side · scale) with the scale in
// float32 as torchvision computes it), target boxes scaled alike and masks resized with nearest;
// then the images are padded into one batch whose height and width are multiples of
// sizeDivisible. Postprocess: boxes back to each original image's size and the 28x28 mask
// probabilities pasted into it (paste_masks_in_image).
import { F, rand, stack, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import { pasteMasksInImage } from '../../detection/paste-masks.js';
import type { Detection, DetectionTarget } from './types.js';

export interface GeneralizedRCNNTransformOptions {
  /** The shorter side after resizing; several: training draws one per image (torch_choice), eval uses the last. Default 800. */
  minSize?: number | number[];
  /** The longer side is kept at most this. Default 1333. */
  maxSize?: number;
  /** Per-channel mean and std of the normalization; default ImageNet's. */
  imageMean?: number[];
  imageStd?: number[];
  /** The batch's height and width are rounded up to a multiple of this. Default 32. */
  sizeDivisible?: number;
  /** Resize every image to this [width, height] instead (torchvision's fixed_size, width first). */
  fixedSize?: [number, number];
}

/** torchvision's ImageList: the padded batch and the [height, width] of each image inside it. */
export interface ImageList {
  tensors: Tensor;
  imageSizes: [number, number][];
}

/** resize_boxes: (K, 4) boxes of an image of size `from` ([h, w]) in the coordinates of size `to`. */
export function resizeBoxes(boxes: Tensor, from: [number, number], to: [number, number]): Tensor {
  // float32 ratios as torchvision's tensor division
  const rh = Math.fround(to[0] / from[0]);
  const rw = Math.fround(to[1] / from[1]);
  return tidy(() => boxes.mul(tensor([rw, rh, rw, rh], { dtype: boxes.dtype, device: boxes.device })));
}

export class GeneralizedRCNNTransform extends Module {
  readonly minSize: number[];
  readonly maxSize: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly sizeDivisible: number;
  readonly fixedSize?: [number, number];

  constructor(opts: GeneralizedRCNNTransformOptions = {}) {
    super();
    this.minSize = typeof opts.minSize === 'number' ? [opts.minSize] : opts.minSize ?? [800];
    this.maxSize = opts.maxSize ?? 1333;
    this.imageMean = opts.imageMean ?? [0.485, 0.456, 0.406];
    this.imageStd = opts.imageStd ?? [0.229, 0.224, 0.225];
    this.sizeDivisible = opts.sizeDivisible ?? 32;
    this.fixedSize = opts.fixedSize;
    if (this.minSize.length === 0 || [...this.minSize, this.maxSize].some((s) => !(s > 0))) {
      throw new Error(`GeneralizedRCNNTransform: minSize and maxSize must be positive, got minSize [${this.minSize.join(', ')}], maxSize ${this.maxSize}`);
    }
  }

  /**
   * `images`: (C, H, W) float tensors in 0..1, sizes may differ; `targets` (training): one per image,
   * in its pixels. Returns new tensors: the batch with each image's size, and the targets in the
   * resized images' pixels (labels copied).
   */
  override forward(images: Tensor[], targets?: DetectionTarget[]): { images: ImageList; targets?: DetectionTarget[] } {
    if (targets !== undefined && targets.length !== images.length) {
      throw new Error(`GeneralizedRCNNTransform: ${images.length} images but ${targets.length} targets; give one target per image`);
    }
    return tidy(() => {
      const resized = images.map((image, i) => {
        if (image.ndim !== 3) throw new Error(`GeneralizedRCNNTransform: images must be (C, H, W) tensors, image ${i} has shape [${image.shape.join(', ')}]`);
        return this.resize(this.normalize(image), targets?.[i]);
      });
      const imageSizes = resized.map(({ image }) => [image.size(1), image.size(2)] as [number, number]);
      const batch = this.batchImages(resized.map(({ image }) => image));
      const out = targets === undefined ? undefined : resized.map(({ target }) => target!);
      return { images: { tensors: batch, imageSizes }, targets: out };
    });
  }

  /** (image − mean) / std per channel; the image must be floating point (values in 0..1). */
  normalize(image: Tensor): Tensor {
    if (!image.dtype.startsWith('float') && image.dtype !== 'bfloat16') {
      throw new Error(`GeneralizedRCNNTransform: images must be floating point in 0..1, got ${image.dtype}; convert with image.float().div(255)`);
    }
    return tidy(() => {
      const opts = { dtype: image.dtype, device: image.device };
      return image.sub(tensor(this.imageMean, opts).view(-1, 1, 1)).div(tensor(this.imageStd, opts).view(-1, 1, 1));
    });
  }

  /** The [height, width] an image of [h, w] is resized to, with `minSize` the shorter side's goal. */
  resizedSize(h: number, w: number, minSize: number): [number, number] {
    if (this.fixedSize !== undefined) return [this.fixedSize[1], this.fixedSize[0]];
    // torchvision: min(min_size / shorter, max_size / longer) on float32 tensors, where a float
    // divided by a tensor is the tensor's reciprocal times the float
    const scaleFor = (goal: number, side: number): number => Math.fround(Math.fround(1 / side) * goal);
    const scale = Math.min(scaleFor(minSize, Math.min(h, w)), scaleFor(this.maxSize, Math.max(h, w)));
    // F.interpolate(scale_factor, recompute_scale_factor=True): floor(side · scale) in double
    return [Math.floor(h * scale), Math.floor(w * scale)];
  }

  /** One normalized image (and its target) resized as torchvision's resize. */
  resize(image: Tensor, target?: DetectionTarget): { image: Tensor; target?: DetectionTarget } {
    const [h, w] = [image.size(-2), image.size(-1)];
    let goal = this.minSize[this.minSize.length - 1];
    if (this.training) {
      // torch_choice: one uniform draw per image, whatever the number of sizes
      const u = tidy(() => rand([1]).item());
      goal = this.minSize[Math.min(Math.floor(Math.fround(u * this.minSize.length)), this.minSize.length - 1)];
    }
    const size = this.resizedSize(h, w, goal);
    return tidy(() => {
      const resized = F.interpolate(image.unsqueeze(0), { size, mode: 'bilinear', alignCorners: false }).select(0, 0);
      if (target === undefined) return { image: resized };
      const out: DetectionTarget = { boxes: resizeBoxes(target.boxes, [h, w], size), labels: target.labels.clone() };
      if (target.masks !== undefined) out.masks = resizeMasks(target.masks, size);
      return { image: resized, target: out };
    });
  }

  /** Zero-padded (N, C, H, W) batch, H and W the largest image's rounded up to sizeDivisible. */
  batchImages(images: Tensor[]): Tensor {
    if (images.length === 0) throw new Error('GeneralizedRCNNTransform: no images given');
    const c = Math.max(...images.map((im) => im.size(0)));
    if (images.some((im) => im.size(0) !== c)) throw new Error(`GeneralizedRCNNTransform: images must have the same number of channels, got ${images.map((im) => im.size(0)).join(', ')}`);
    const roundUp = (s: number): number => Math.ceil(s / this.sizeDivisible) * this.sizeDivisible;
    const height = roundUp(Math.max(...images.map((im) => im.size(1))));
    const width = roundUp(Math.max(...images.map((im) => im.size(2))));
    return tidy(() => stack(images.map((im) => F.pad(im, [0, width - im.size(2), 0, height - im.size(1)])), 0));
  }

  /**
   * Detections in the resized images' pixels (`imageSizes`) → in the original images' pixels,
   * masks (K, 1, 28, 28) pasted into (K, 1, H, W). Training mode returns them as they are, as
   * torchvision. New boxes and masks; labels and scores are the given tensors.
   */
  postprocess(result: Detection[], imageSizes: [number, number][], originalSizes: [number, number][]): Detection[] {
    if (this.training) return result;
    return tidy(() => result.map((det, i) => {
      const boxes = resizeBoxes(det.boxes, imageSizes[i], originalSizes[i]);
      const out: Detection = { ...det, boxes };
      if (det.masks !== undefined) out.masks = pasteMasksInImage(det.masks, boxes, originalSizes[i]);
      return out;
    }));
  }

  override extraRepr(): string {
    return `Normalize(mean=[${this.imageMean}], std=[${this.imageStd}]), Resize(minSize=[${this.minSize}], maxSize=${this.maxSize}, mode='bilinear')`;
  }
}

/** (G, H, W) uint8 masks resized with nearest to `size` (torchvision's _resize_image_and_masks). */
function resizeMasks(masks: Tensor, size: [number, number]): Tensor {
  if (masks.size(0) === 0) return zeros([0, ...size], { dtype: 'uint8', device: masks.device });
  return tidy(() => F.interpolate(masks.unsqueeze(1).float(), { size, mode: 'nearest' }).select(1, 0).to('uint8'));
}
