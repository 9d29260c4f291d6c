// MultiScaleRoIAlign as torchvision.ops.MultiScaleRoIAlign: RoIAlign from the FPN level that suits
// each box's size (LevelMapper), so a Mask R-CNN head sees every box at a similar resolution.
// Boxes are in image coordinates; each level's scale (2^−k) is inferred from its feature map
// size against the largest image, once, on the first call, and kept (torchvision does the same,
// so later batches of other image sizes reuse the first batch's scales).
import { Module } from '../nn/module.js';
import { cat, tensor } from '../torch/create.js';
import type { Tensor } from '../torch/tensor.js';
import { LevelMapper, setupScales } from './level-mapper.js';
import { convertBoxesToRoiFormat, roiAlign } from './roi-align.js';

export interface MultiScaleRoIAlignOptions {
  canonicalScale?: number;
  canonicalLevel?: number;
}

export class MultiScaleRoIAlign extends Module {
  declare readonly featmapNames: string[];
  declare readonly outputSize: [number, number];
  declare readonly samplingRatio: number;
  declare readonly canonicalScale: number;
  declare readonly canonicalLevel: number;
  declare scales: number[] | undefined;
  declare mapLevels: LevelMapper | undefined;

  /** Pools from the feature maps named `featmapNames` (taken in the order the features come in, as torchvision). */
  constructor(featmapNames: string[], outputSize: number | [number, number], samplingRatio: number, opts: MultiScaleRoIAlignOptions = {}) {
    super();
    this.featmapNames = featmapNames;
    this.outputSize = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
    this.samplingRatio = samplingRatio;
    this.canonicalScale = opts.canonicalScale ?? 224;
    this.canonicalLevel = opts.canonicalLevel ?? 4;
    this.scales = undefined;
    this.mapLevels = undefined;
  }

  /**
   * `features`: name → (N, C, H_l, W_l); `boxes`: one (L_i, 4) tensor per image, in image
   * coordinates; `imageSizes`: [height, width] of each image as fed to the backbone.
   * Returns (ΣL_i, C, outH, outW), boxes in the order given.
   */
  override forward(features: Record<string, Tensor> | Map<string, Tensor>, boxes: Tensor[], imageSizes: [number, number][]): Tensor {
    const entries = features instanceof Map ? [...features.entries()] : Object.entries(features);
    const levels = entries.filter(([name]) => this.featmapNames.includes(name)).map(([, t]) => t);
    if (levels.length === 0) {
      throw new Error(`MultiScaleRoIAlign: none of the feature maps [${this.featmapNames}] is among the features given [${entries.map(([k]) => k)}]`);
    }
    if (this.scales === undefined || this.mapLevels === undefined) {
      const s = setupScales(levels.map((t) => [t.size(2), t.size(3)]), imageSizes, { canonicalScale: this.canonicalScale, canonicalLevel: this.canonicalLevel });
      this.scales = s.scales;
      this.mapLevels = s.mapLevels;
    }
    const rois = convertBoxesToRoiFormat(boxes);
    const pool = (feature: Tensor, r: Tensor, scale: number): Tensor => roiAlign(feature, r, this.outputSize, { spatialScale: scale, samplingRatio: this.samplingRatio });
    if (levels.length === 1) return pool(levels[0], rois, this.scales[0]);
    // pool each level's boxes, then put the rows back in the boxes' order (differentiable, unlike
    // torchvision's in-place result[idx] = ..., which gives the same values)
    const level = this.mapLevels.call(boxes).toArray();
    const order: number[] = [];
    const pooled = levels.map((feature, l) => {
      const ids = level.flatMap((v, i) => (v === l ? [i] : []));
      order.push(...ids);
      const r = rois.indexSelect(0, tensor(ids, { dtype: 'int64', device: rois.device }));
      return pool(feature, r, this.scales![l]).to(levels[0].dtype);
    });
    const back = new Array<number>(order.length);
    order.forEach((row, i) => (back[row] = i));
    return cat(pooled, 0).indexSelect(0, tensor(back, { dtype: 'int64', device: rois.device }));
  }

  override extraRepr(): string {
    return `featmap_names=[${this.featmapNames.map((n) => `'${n}'`).join(', ')}], output_size=(${this.outputSize.join(', ')}), sampling_ratio=${this.samplingRatio}`;
  }
}
