// The FPN level of each box (Lin et al. 2017, eqn. 1), as torchvision's MultiScaleRoIAlign picks
// it: k = floor(k0 + log2(sqrt(area) / 224) + eps), clamped to the levels present, as an index from
// the finest one. The feature maps' levels come from their scale against the image (2^−k).
import { cat } from '../torch/create.js';
import { op } from '../torch/dispatch.js';
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { boxArea } from './boxes.js';

export interface LevelMapperOptions {
  /** Box size that maps to `canonicalLevel` (default 224, an ImageNet crop). */
  canonicalScale?: number;
  /** Level of a box of `canonicalScale` (default 4). */
  canonicalLevel?: number;
  eps?: number;
}

export class LevelMapper {
  declare readonly kMin: number;
  declare readonly kMax: number;
  declare readonly canonicalScale: number;
  declare readonly canonicalLevel: number;
  declare readonly eps: number;

  constructor(kMin: number, kMax: number, opts: LevelMapperOptions = {}) {
    this.kMin = kMin;
    this.kMax = kMax;
    this.canonicalScale = opts.canonicalScale ?? 224;
    this.canonicalLevel = opts.canonicalLevel ?? 4;
    this.eps = opts.eps ?? 1e-6;
  }

  /** Per-image (L_i, 4) boxes → int64 (ΣL_i) level indices in [0, kMax − kMin]. */
  call(boxes: Tensor[]): Tensor {
    return tidy(() => {
      const s = cat(boxes.map((b) => boxArea(b)), 0).sqrt();
      const lvl = op('log2', s.div(this.canonicalScale)).add(this.canonicalLevel).add(this.eps).floor();
      return lvl.clamp(this.kMin, this.kMax).long().sub(this.kMin);
    });
  }
}

// round half to even, as torch.round
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** The scale 2^−k of a feature map of `featureSize` [h, w] against an image of `imageSize` [h, w] (from the heights, as torchvision). */
export function inferScale(featureSize: [number, number], imageSize: [number, number]): number {
  const approx = Math.fround(featureSize[0] / imageSize[0]);
  return 2 ** roundHalfEven(Math.fround(Math.log2(approx)));
}

/**
 * torchvision's _setup_scales: the scale of each feature map (sizes [h, w]) against the largest
 * image (sizes [h, w]) and the LevelMapper over the levels they span.
 */
export function setupScales(featureSizes: [number, number][], imageSizes: [number, number][], opts: LevelMapperOptions = {}): { scales: number[]; mapLevels: LevelMapper } {
  if (imageSizes.length === 0) throw new Error('setupScales: imageSizes is empty; pass the [height, width] of every image in the batch');
  if (featureSizes.length === 0) throw new Error('setupScales: featureSizes is empty; pass the [height, width] of every feature map');
  const original: [number, number] = [Math.max(...imageSizes.map((s) => s[0])), Math.max(...imageSizes.map((s) => s[1]))];
  const scales = featureSizes.map((f) => inferScale(f, original));
  const level = (scale: number): number => Math.trunc(-Math.fround(Math.log2(Math.fround(scale))));
  return { scales, mapLevels: new LevelMapper(level(scales[0]), level(scales[scales.length - 1]), opts) };
}
