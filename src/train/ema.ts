// Exponential moving average of a model's weights (timm's ModelEmaV2, torchvision references'
// ExponentialMovingAverage): after each optimizer step every floating-point entry of the state
// dict moves towards the model's, ema = decay * ema + (1 - decay) * model; integer buffers
// (BatchNorm's num_batches_tracked) are copied. The average lives in a second module of the same
// architecture, so it validates, saves and loads like the model itself.
import type { Module } from '../nn/index.js';
import { noGrad, tidy } from '../torch/index.js';
import { isFloating, type DType } from '../torch/dtype.js';

export class ModelEma {
  /** `shadow` is a module of the same architecture; it starts as a copy of `model`. */
  constructor(
    readonly shadow: Module,
    model: Module,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new Error(`ModelEma: decay must be in (0, 1), got ${decay}`);
    shadow.loadStateDict(model.stateDict());
    shadow.eval();
    for (const p of shadow.parameters()) p.requiresGrad_(false);
  }

  /** One averaging step towards `model`'s current weights. */
  update(model: Module): void {
    const src = model.stateDict();
    noGrad(() =>
      tidy(() => {
        for (const [key, t] of this.shadow.stateDict()) {
          const s = src.get(key);
          if (!s) throw new Error(`ModelEma.update: the model has no '${key}'; the EMA must shadow the same architecture`);
          if (isFloating(t.dtype as DType)) t.lerp_(s, 1 - this.decay);
          else t.copy_(s);
        }
      }),
    );
  }

  dispose(): void {
    this.shadow.dispose();
  }
}
