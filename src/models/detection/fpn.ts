// Feature Pyramid Network (Lin et al. 2017) as torchvision.ops.FeaturePyramidNetwork builds it:
// a 1x1 lateral conv per input level (inner_blocks), a top-down path that adds each coarser
// merged map, nearest-upsampled to the lateral's size, and a 3x3 output conv per level
// (layer_blocks). The blocks are Conv2dNormActivation wrappers without activation, so the keys
// are torchvision 0.14's `inner_blocks.0.0.weight` (and `.0.1.*` with a norm layer, as in v2).
import { Tensor, F } from '../../torch/index.js';
import { Conv2d, Conv2dNormActivation, Module, ModuleList, init, type NormFactory } from '../../nn/index.js';
import type { Features } from '../backbones/features.js';

/** Levels and their names, finest first; an extra block may append levels. */
export interface FpnLevels {
  results: Tensor[];
  names: string[];
}

/**
 * Adds levels after the FPN (torchvision's ExtraFPNBlock): gets the FPN's outputs, the FPN's
 * inputs and the names, returns the extended outputs and names.
 */
export abstract class ExtraFpnBlock extends Module {
  abstract override forward(results: Tensor[], inputs: Tensor[], names: string[]): FpnLevels;
}

/** One more level, 'pool': the coarsest output subsampled by 2 (max_pool2d, kernel 1, stride 2). */
export class LastLevelMaxPool extends ExtraFpnBlock {
  override forward(results: Tensor[], _inputs: Tensor[], names: string[]): FpnLevels {
    const pooled = F.maxPool2d(results[results.length - 1], 1, { stride: 2, padding: 0 });
    return { results: [...results, pooled], names: [...names, 'pool'] };
  }
}

export interface FeaturePyramidNetworkOptions {
  /** Levels added after the pyramid (torchvision's extra_blocks), e.g. LastLevelMaxPool. */
  extraBlocks?: ExtraFpnBlock;
  /** A norm layer after every conv (v2 detectors: BatchNorm2d); default none, and the convs get a bias. */
  norm?: NormFactory;
}

export class FeaturePyramidNetwork extends Module {
  declare inner_blocks: ModuleList<Conv2dNormActivation>;
  declare layer_blocks: ModuleList<Conv2dNormActivation>;
  declare extra_blocks: ExtraFpnBlock | undefined;
  readonly outChannels: number;

  /** `inChannelsList`: channels of each input level, finest first. */
  constructor(inChannelsList: number[], outChannels: number, opts: FeaturePyramidNetworkOptions = {}) {
    super();
    const norm = opts.norm ?? null;
    this.inner_blocks = new ModuleList();
    this.layer_blocks = new ModuleList();
    for (const c of inChannelsList) {
      if (c === 0) throw new Error('FeaturePyramidNetwork: an input level with 0 channels is not supported (as torchvision)');
      this.inner_blocks.append(new Conv2dNormActivation(c, outChannels, 1, { padding: 0, norm, activation: null }));
      this.layer_blocks.append(new Conv2dNormActivation(outChannels, outChannels, 3, { norm, activation: null }));
    }
    // torchvision's initialisation of the FPN's own convs
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      init.kaimingUniform_(m.weight, { a: 1 });
      if (m.bias) init.zeros_(m.bias);
    }
    this.registerModule('extra_blocks', opts.extraBlocks);
    this.outChannels = outChannels;
  }

  // Files saved before torchvision 0.13 (the v1 COCO weights among them) have plain convs:
  // `inner_blocks.0.weight` for today's `inner_blocks.0.0.weight`, which torchvision renames too.
  protected override upgradeStateDict(state: Map<string, unknown>, prefix: string): void {
    for (const block of ['inner_blocks', 'layer_blocks']) {
      for (let i = 0; i < this.inner_blocks.length; i++) {
        for (const kind of ['weight', 'bias']) {
          const old = `${prefix}${block}.${i}.${kind}`;
          if (!state.has(old)) continue;
          state.set(`${prefix}${block}.${i}.0.${kind}`, state.get(old));
          state.delete(old);
        }
      }
    }
  }

  /**
   * Input levels by name, finest first ((N, Cᵢ, Hᵢ, Wᵢ)) → the same names, each (N, outChannels,
   * Hᵢ, Wᵢ), plus the extra levels. The order is the object's key order: JavaScript puts
   * integer-like keys ('0', '1', ...) first, ascending, which is the finest-first order they name.
   */
  override forward(x: Features): Features {
    const names = Object.keys(x);
    const inputs = Object.values(x);
    if (inputs.length !== this.inner_blocks.length) {
      throw new Error(`FeaturePyramidNetwork: got ${inputs.length} levels (${names.join(', ')}), built for ${this.inner_blocks.length}`);
    }
    const last = inputs.length - 1;
    let merged = this.inner_blocks.at(last).call(inputs[last]);
    const results = [this.layer_blocks.at(last).call(merged)];
    for (let i = last - 1; i >= 0; i--) {
      const lateral = this.inner_blocks.at(i).call(inputs[i]);
      const [h, w] = lateral.shape.slice(-2);
      merged = lateral.add(F.interpolate(merged, { size: [h, w], mode: 'nearest' }));
      results.unshift(this.layer_blocks.at(i).call(merged));
    }
    const levels = this.extra_blocks ? this.extra_blocks.call(results, inputs, names) : { results, names };
    return Object.fromEntries(levels.names.map((n, i) => [n, levels.results[i]]));
  }
}
