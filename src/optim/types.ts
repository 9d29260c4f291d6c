// What schedulers need from an optimizer: its param groups, whose hyper-parameters they read
// and write in place (like PyTorch's `optimizer.param_groups`). The optimizers implement this.

export interface ParamGroupOptions {
  lr: number;
  weightDecay: number;
  /** SGD-like groups: OneCycleLR cycles this when `cycleMomentum` is on. */
  momentum?: number;
  /** Adam-like groups: OneCycleLR cycles `betas[0]` when `cycleMomentum` is on. */
  betas?: [number, number];
  /**
   * Written by the first scheduler attached to the optimizer (PyTorch's `initial_lr`): the lr
   * that schedules start from. Optimizers should keep it in their state dict like any option.
   */
  initialLr?: number;
  [k: string]: unknown;
}

export interface OptimizerLike {
  paramGroups: ParamGroupOptions[];
}
