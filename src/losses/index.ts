// segkit's segmentation losses, each from logits: cross-entropy, BCE, focal, Dice, Tversky,
// Lovász (softmax and hinge), boundary; and `buildLoss`, a weighted sum of them from a config.
// Multi-class losses take (N, C, H, W) logits and int64 class ids (N, H, W); the binary ones
// (bce, binary*, lovaszHinge) take one sigmoid channel (N, 1, H, W) and 0/1 targets.
export { NO_IGNORE } from './common.js';
export { crossEntropyLoss, type CrossEntropyLossOptions } from './cross-entropy.js';
export { bceWithLogitsLoss, type BCEWithLogitsLossOptions } from './bce.js';
export { focalLoss, binaryFocalLoss, type FocalLossOptions } from './focal.js';
export { diceLoss, binaryDiceLoss, type DiceLossOptions } from './dice.js';
export { tverskyLoss, binaryTverskyLoss, type TverskyLossOptions } from './tversky.js';
export type { ClassSelection } from './overlap.js';
export { lovaszSoftmaxLoss, lovaszHingeLoss, type LovaszLossOptions } from './lovasz.js';
export { boundaryLoss, binaryBoundaryLoss, signedDistanceMaps, type BoundaryLossOptions } from './boundary.js';
export { distanceToSet, signedDistance } from './distance.js';
export { lossSpecSchema, parseLossSpec, resolveClassWeights, classWeightingsOf, CLASS_WEIGHTINGS, TERM_NAMES, type ClassWeighting, type LossSpec, type LossSpecInput, type TermSpec, type TermName } from './config.js';
export { buildLoss, type SegLoss, type SegOutput, type LossResult } from './combined.js';
