// Anchors as torchvision.models.detection.anchor_utils.AnchorGenerator (0.14) lays them out: per
// feature level, a set of zero-centred cell anchors (one per aspect ratio × size, ratio = h / w)
// shifted to every cell of the level's grid. The stride of a level is the padded image size
// integer-divided by the feature size, per axis, so non-divisible sizes (a 97-pixel image with a
// 25-row map: stride 3) give torchvision's anchors, not the nominal 4.
import { arange, cat, stack, tensor, tidy, type Tensor } from '../../torch/index.js';

/** Mask R-CNN / Faster R-CNN FPN defaults: one size per level, three ratios everywhere. */
export const FPN_ANCHOR_SIZES: number[][] = [[32], [64], [128], [256], [512]];
export const FPN_ASPECT_RATIOS: number[][] = FPN_ANCHOR_SIZES.map(() => [0.5, 1.0, 2.0]);

export class AnchorGenerator {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];
  /** Per level, (A, 4) zero-centred x1, y1, x2, y2 as plain numbers (integers after rounding). */
  readonly cellAnchors: number[][][];

  /** `sizes[i]` and `aspectRatios[i]` describe level i; there must be as many of each. */
  constructor(sizes: number[][] = FPN_ANCHOR_SIZES, aspectRatios: number[][] = FPN_ASPECT_RATIOS) {
    if (sizes.length !== aspectRatios.length) {
      throw new Error(`AnchorGenerator: ${sizes.length} levels of sizes but ${aspectRatios.length} of aspect ratios; give one list of each per feature level`);
    }
    this.sizes = sizes;
    this.aspectRatios = aspectRatios;
    this.cellAnchors = sizes.map((s, i) => cellAnchors(s, aspectRatios[i]));
  }

  /** Anchors per location of each level (torchvision's num_anchors_per_location). */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i].length);
  }

  /**
   * Per level, (Hᵢ·Wᵢ·A, 4) anchors in the features' dtype, ordered row, column, then cell anchor
   * (the order the RPN head's outputs are flattened in). `imageSize`: [height, width] of the padded
   * batch; `featureSizes`: [Hᵢ, Wᵢ] of each level.
   */
  gridAnchors(imageSize: [number, number], featureSizes: [number, number][], opts: { dtype?: 'float32' | 'float64'; device?: string } = {}): Tensor[] {
    const { dtype = 'float32', device = 'cpu' } = opts;
    if (featureSizes.length !== this.cellAnchors.length) {
      throw new Error(`AnchorGenerator: got ${featureSizes.length} feature maps, built for ${this.cellAnchors.length} levels (sizes and aspect ratios per level)`);
    }
    return featureSizes.map(([h, w], i) => tidy(() => {
      // integer division as torchvision does on the shapes (Python //, sizes are positive)
      const sy = Math.floor(imageSize[0] / h);
      const sx = Math.floor(imageSize[1] / w);
      const ys = arange(0, h, 1, { dtype: 'int64', device }).mul(sy).view(h, 1).expand(h, w).reshape(-1);
      const xs = arange(0, w, 1, { dtype: 'int64', device }).mul(sx).view(1, w).expand(h, w).reshape(-1);
      const shifts = stack([xs, ys, xs, ys], 1).to(dtype);
      const base = tensor(this.cellAnchors[i], { dtype, device });
      return shifts.view(-1, 1, 4).add(base.view(1, -1, 4)).reshape(-1, 4);
    }));
  }

  /**
   * torchvision's forward: the anchors of every level concatenated, one (sum Hᵢ·Wᵢ·A, 4) tensor
   * per image (the same for every image of a batch). `images`: the padded batch (N, C, H, W).
   */
  forward(images: Tensor, featureMaps: Tensor[]): Tensor[] {
    const [n, , h, w] = images.shape;
    // anchors in the features' dtype and device, as torchvision
    const dtype = featureMaps[0]?.dtype === 'float64' ? 'float64' : 'float32';
    const device = featureMaps[0]?.device ?? images.device;
    const sizes = featureMaps.map((f) => [f.size(-2), f.size(-1)] as [number, number]);
    const perImage = tidy(() => cat(this.gridAnchors([h, w], sizes, { dtype, device }), 0));
    const out = [perImage];
    for (let i = 1; i < n; i++) out.push(tidy(() => perImage.clone()));
    return out;
  }
}

// Zero-centred anchors of one level, computed in float32 as torchvision does (sqrt of the ratio,
// its reciprocal, products with the sizes, halves, round) so that values at .5 round the same way.
function cellAnchors(sizes: number[], ratios: number[]): number[][] {
  return tidy(() => {
    const scales = tensor(sizes, { dtype: 'float32' });
    const hRatios = tensor(ratios, { dtype: 'float32' }).sqrt();
    const wRatios = hRatios.reciprocal();
    const ws = wRatios.view(-1, 1).mul(scales.view(1, -1)).reshape(-1);
    const hs = hRatios.view(-1, 1).mul(scales.view(1, -1)).reshape(-1);
    const anchors = stack([ws.neg(), hs.neg(), ws, hs], 1).div(2).round();
    const flat = anchors.toArray();
    return Array.from({ length: flat.length / 4 }, (_, i) => flat.slice(4 * i, 4 * i + 4));
  });
}
