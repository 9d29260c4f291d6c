// The trainer's two plug points and their stand-ins. The trainer only knows these interfaces:
//   LossFn     (output {out, aux?}, target) => { total, terms }  — src/losses' buildLoss(spec)
//   Evaluator  update(output, target) per batch, compute() => metrics — src/metrics' ConfusionMatrix
// Until src/losses and src/metrics land, `defaultLoss` is cross-entropy and `defaultEvaluator` a
// small confusion-matrix IoU; swapping them is a change to these two functions only.
import { F, noGrad, tidy, tensor, type Tensor } from '../torch/index.js';
import type { SegmentationOutput } from '../models/segmentation.js';
import type { TrainConfig } from './config.js';

export interface LossResult {
  /** The scalar to backpropagate. */
  total: Tensor;
  /** Named parts of the total (logged; checked when non-finite), e.g. { focal, dice }. */
  terms?: Record<string, Tensor | number>;
}

export type LossFn = (output: SegmentationOutput, target: Tensor) => LossResult;

/** Accumulates predictions over a validation pass. */
export interface Evaluator {
  update(output: SegmentationOutput, target: Tensor): void;
  /** Metric name to value; the config's val.metric must be one of the names. */
  compute(): Record<string, number>;
}

export interface TaskInfo {
  numClasses: number;
  ignoreIndex: number;
  classNames?: string[];
}

/** The loss of a config. Stand-in: cross-entropy (class weights, label smoothing, ignore index). */
export function defaultLoss(cfg: TrainConfig, task: TaskInfo): LossFn & { dispose(): void } {
  const weights = cfg.loss.classWeights;
  if (weights && weights.length !== task.numClasses) {
    throw new Error(`loss.classWeights has ${weights.length} values but the dataset has ${task.numClasses} classes; give one weight per class`);
  }
  const weight = weights ? tensor(weights) : undefined;
  const fn = (output: SegmentationOutput, target: Tensor): LossResult => {
    const ce = F.crossEntropy(output.out, target, { ignoreIndex: task.ignoreIndex, labelSmoothing: cfg.loss.labelSmoothing, ...(weight ? { weight } : {}) });
    return { total: ce, terms: { ce } };
  };
  return Object.assign(fn, { dispose: () => weight?.dispose() });
}

/** Stand-in metrics: pixel accuracy, per-class IoU and mIoU over classes seen in truth or prediction. */
export function defaultEvaluator(task: TaskInfo): Evaluator {
  const K = task.numClasses;
  const cm = new Float64Array(K * K); // true * K + predicted
  return {
    update(output, target) {
      const counts = noGrad(() =>
        tidy(() => {
          const pred = output.out.argmax(1);
          const valid = target.ne(task.ignoreIndex).logicalAnd(target.lt(K));
          const idx = target.mul(K).add(pred).maskedFill(valid.logicalNot(), K * K);
          return idx.flatten().bincount(undefined, K * K + 1).toArray();
        }),
      );
      for (let i = 0; i < K * K; i++) cm[i]! += counts[i]!;
    },
    compute() {
      let diag = 0;
      let total = 0;
      const out: Record<string, number> = {};
      const ious: number[] = [];
      for (let k = 0; k < K; k++) {
        let row = 0;
        let col = 0;
        for (let j = 0; j < K; j++) (row += cm[k * K + j]!), (col += cm[j * K + k]!);
        const tp = cm[k * K + k]!;
        diag += tp;
        total += row;
        const union = row + col - tp;
        const iou = union > 0 ? tp / union : NaN;
        out[`iou.${task.classNames?.[k] ?? k}`] = iou;
        if (union > 0) ious.push(iou);
      }
      out.pixelAccuracy = total > 0 ? diag / total : NaN;
      out.miou = ious.length ? ious.reduce((a, b) => a + b, 0) / ious.length : NaN;
      return out;
    },
  };
}
