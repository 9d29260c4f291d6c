// segkit's optimizers (PyTorch 1.13 numerics), gradient clipping, loss scaling and lr schedulers.
export {
  Optimizer, splitStateDict, joinStateDict, disposeStateDict,
  type ParamGroup, type ParamsInput, type ParamState, type OptimizerStateDict, type OptimizerStateJson, type StateJsonValue, type OptimizerSpec,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RAdam, type RAdamOptions } from './radam.js';
export { clipGradNorm_, clipGradValue_ } from './clip.js';
export { GradScaler, type GradScalerOptions, type GradScalerState, type ScalableOptimizer } from './grad-scaler.js';
export type { OptimizerLike, ParamGroupOptions } from './types.js';
export * from './schedulers.js';
