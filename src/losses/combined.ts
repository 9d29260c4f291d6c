// A weighted sum of losses from a config spec (config.ts), with the aux head's loss:
//   total = Σ_i w_i · L_i(out, target) + auxWeight · Σ_i w_i · L_i(aux, target)
// `terms` gives each unweighted term as a number for logging ('focal', 'dice', and 'aux.focal',
// ... when there is an aux output); `total` is the tensor to call backward on.
import { tidy } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { bceWithLogitsLoss } from './bce.js';
import { binaryBoundaryLoss, boundaryLoss } from './boundary.js';
import { NO_IGNORE } from './common.js';
import { type LossSpec, type LossSpecInput, type TermSpec, parseLossSpec } from './config.js';
import { crossEntropyLoss } from './cross-entropy.js';
import { binaryDiceLoss, diceLoss } from './dice.js';
import { binaryFocalLoss, focalLoss } from './focal.js';
import { lovaszHingeLoss, lovaszSoftmaxLoss } from './lovasz.js';
import { binaryTverskyLoss, tverskyLoss } from './tversky.js';

/** A model's output: the logits, or torchvision's `{ out, aux }`. */
export type SegOutput = Tensor | { out: Tensor; aux?: Tensor };
export interface LossResult {
  /** The weighted sum, with its graph (call backward on it; dispose it after). */
  total: Tensor;
  /** Each unweighted term, for logging. */
  terms: Record<string, number>;
}
export interface SegLoss {
  (output: SegOutput, target: Tensor): LossResult;
  readonly spec: LossSpec;
}

type LossFn = (logits: Tensor, target: Tensor) => Tensor;

/** Numeric class weights of a term; a weighting name ('median-frequency') must be resolved first. */
function numericWeights(t: TermSpec): number[] | undefined {
  const w = (t as { classWeights?: number[] | string }).classWeights;
  if (typeof w === 'string') {
    throw new Error(`loss ${t.name}: classWeights '${w}' is computed from the training masks; resolve it first (resolveClassWeights with the train split's statistics; segkit train does this), or give one number per class`);
  }
  return w;
}

function termFn(t: TermSpec, sigmoid: boolean, ignoreIndex: number): LossFn {
  const classWeights = numericWeights(t); // checked once, when the loss is built
  switch (t.name) {
    case 'ce': return (x, y) => crossEntropyLoss(x, y, { ignoreIndex, classWeights, labelSmoothing: t.labelSmoothing });
    case 'bce': return (x, y) => bceWithLogitsLoss(x, y, { ignoreIndex, posWeight: t.posWeight });
    case 'focal': return sigmoid
      ? (x, y) => binaryFocalLoss(x, y, { ignoreIndex, gamma: t.gamma, alpha: t.alpha })
      : (x, y) => focalLoss(x, y, { ignoreIndex, gamma: t.gamma, classWeights });
    case 'dice': return sigmoid
      ? (x, y) => binaryDiceLoss(x, y, { ignoreIndex, smooth: t.smooth, classes: t.classes })
      : (x, y) => diceLoss(x, y, { ignoreIndex, smooth: t.smooth, classes: t.classes });
    case 'tversky': return sigmoid
      ? (x, y) => binaryTverskyLoss(x, y, { ignoreIndex, alpha: t.alpha, beta: t.beta, smooth: t.smooth, classes: t.classes })
      : (x, y) => tverskyLoss(x, y, { ignoreIndex, alpha: t.alpha, beta: t.beta, smooth: t.smooth, classes: t.classes });
    case 'lovasz': return sigmoid
      ? (x, y) => lovaszHingeLoss(x, y, { ignoreIndex, perImage: t.perImage })
      : (x, y) => lovaszSoftmaxLoss(x, y, { ignoreIndex, perImage: t.perImage, classes: t.classes });
    case 'boundary': return sigmoid
      ? (x, y) => binaryBoundaryLoss(x, y, { ignoreIndex })
      : (x, y) => boundaryLoss(x, y, { ignoreIndex });
  }
}

/** Builds the loss a spec describes; throws on an invalid spec with the bad key and the valid ones. */
export function buildLoss(input: LossSpecInput, source?: string): SegLoss {
  const spec = parseLossSpec(input, source);
  const sigmoid = spec.output === 'sigmoid';
  const ignoreIndex = spec.ignoreIndex ?? NO_IGNORE;
  const fns = spec.terms.map((t) => ({ name: t.name, weight: t.weight, fn: termFn(t, sigmoid, ignoreIndex) }));

  const loss = (output: SegOutput, target: Tensor): LossResult => {
    const { out, aux } = 'out' in output ? output : { out: output as Tensor, aux: undefined };
    const terms: Record<string, number> = {};
    const total = tidy(() => {
      const head = (logits: Tensor, prefix: string): Tensor | undefined => {
        let sum: Tensor | undefined;
        for (const { name, weight, fn } of fns) {
          const value = fn(logits, target);
          terms[prefix + name] = value.item();
          const weighted = value.mul(weight);
          sum = sum ? sum.add(weighted) : weighted;
        }
        return sum;
      };
      const main = head(out, '')!;
      return aux ? main.add(head(aux, 'aux.')!.mul(spec.auxWeight)) : main;
    });
    return { total, terms };
  };
  return Object.assign(loss, { spec });
}
