// Learning-rate schedulers with PyTorch's semantics (torch.optim.lr_scheduler), as plain number
// math over an optimizer's param groups. Build one after the optimizer; call `step()` once per
// iteration (or epoch) after `optimizer.step()`; `ReduceLROnPlateau.step(metric)` after each
// validation. `stateDict()` is plain JSON; `loadStateDict()` on a freshly built scheduler resumes
// the exact sequence.

export type { Scheduler, SchedulerState } from './schedulers/base.js';
export { LRScheduler } from './schedulers/base.js';
export { StepLR, MultiStepLR, type StepLROptions, type MultiStepLROptions } from './schedulers/step.js';
export { LinearLR, type LinearLROptions } from './schedulers/linear.js';
export { PolynomialLR, type PolynomialLROptions } from './schedulers/poly.js';
export { CosineAnnealingLR, type CosineAnnealingLROptions } from './schedulers/cosine.js';
export { OneCycleLR, type OneCycleLROptions } from './schedulers/onecycle.js';
export { WarmupLR, withWarmup, type WarmupOptions } from './schedulers/warmup.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './schedulers/plateau.js';
