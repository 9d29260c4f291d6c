// The trainer's two plug points and their stand-ins. The trainer only knows these interfaces:
//   LossFn     (output {out, aux?}, target) => { total, terms }  — src/losses' buildLoss(spec)
//   Evaluator  update(output, target) per batch, compute() => flat metrics — src/metrics'
//              ConfusionMatrix through `flattenMetrics`
// Until src/losses and src/metrics land, `defaultLoss` runs the spec's cross-entropy terms and
// `defaultEvaluator` is a small confusion-matrix IoU; swapping them changes these two functions.
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
  /** Metric name to value (flat: 'miou', 'iou.circle', 'perImage.miou'); val.metric is one of the names. */
  compute(): Record<string, number>;
  dispose?(): void;
}

export interface TaskInfo {
  numClasses: number;
  ignoreIndex: number;
  classNames?: string[];
}

/**
 * The loss of a config. Stand-in until src/losses lands: the spec's cross-entropy terms (class
 * weights, label smoothing), weighted, plus `auxWeight` x the same on the aux head. At merge:
 *   return buildLoss({ ...cfg.loss, ignoreIndex: cfg.loss.ignoreIndex ?? task.ignoreIndex });
 */
export function defaultLoss(cfg: TrainConfig, task: TaskInfo): LossFn & { dispose?(): void } {
  const ignoreIndex = cfg.loss.ignoreIndex ?? task.ignoreIndex;
  const terms = cfg.loss.terms.map((t, i) => {
    if (t.classWeights && t.classWeights.length !== task.numClasses) {
      throw new Error(`loss.terms[${i}].classWeights has ${t.classWeights.length} values but the dataset has ${task.numClasses} classes; give one weight per class`);
    }
    return { ...t, weightTensor: t.classWeights ? tensor(t.classWeights) : undefined };
  });
  const head = (logits: Tensor, target: Tensor, prefix: string, out: Record<string, Tensor>): Tensor => {
    let sum: Tensor | undefined;
    for (const t of terms) {
      const v = F.crossEntropy(logits, target, { ignoreIndex, labelSmoothing: t.labelSmoothing, ...(t.weightTensor ? { weight: t.weightTensor } : {}) });
      out[prefix + t.name] = v;
      const w = v.mul(t.weight);
      sum = sum ? sum.add(w) : w;
    }
    return sum!;
  };
  const fn = (output: SegmentationOutput, target: Tensor): LossResult => {
    const parts: Record<string, Tensor> = {};
    const main = head(output.out, target, '', parts);
    const total = output.aux ? main.add(head(output.aux, target, 'aux.', parts).mul(cfg.loss.auxWeight)) : main;
    return { total, terms: parts };
  };
  return Object.assign(fn, { dispose: () => terms.forEach((t) => t.weightTensor?.dispose()) });
}

/** Fields of a metrics object that echo its configuration or list class ids rather than measure. */
const NOT_METRICS = new Set(['numClasses', 'ignoreIndex', 'foregroundClass', 'threshold', 'absent']);

/**
 * Flattens a metrics object into `name -> number`: numbers as they are, per-class arrays (one
 * number per class) as `<name>.<class>`, nested objects as `<outer>.<inner>`; anything else
 * (matrices, lists of class ids, configuration echoes) is left out. Made for src/metrics'
 * `ConfusionMatrix.compute()` (miou, pixelAccuracy, iou[], perImage: {...}, ...).
 */
export function flattenMetrics(m: object, classNames?: readonly string[], prefix = ''): Record<string, number> {
  const numClasses = classNames?.length ?? (m as { numClasses?: unknown }).numClasses;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) {
    if (NOT_METRICS.has(k)) continue;
    if (typeof v === 'number') out[prefix + k] = v;
    else if (Array.isArray(v) && v.length === numClasses && v.every((x) => typeof x === 'number')) v.forEach((x: number, i) => (out[`${prefix}${k}.${classNames?.[i] ?? i}`] = x));
    else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenMetrics(v as object, classNames ?? (typeof numClasses === 'number' ? Array.from({ length: numClasses }, (_, i) => String(i)) : undefined), `${prefix}${k}.`));
  }
  return out;
}

/**
 * Validation metrics. Stand-in until src/metrics lands: pixel accuracy, per-class IoU (NaN for a
 * class absent from truth and prediction) and their mean over the classes present. At merge:
 *   const cm = new ConfusionMatrix({ numClasses: task.numClasses, ignoreIndex: task.ignoreIndex });
 *   return { update: (o, t) => void cm.update(o.out, t), compute: () => flattenMetrics(cm.compute(), task.classNames), dispose: () => cm.dispose() };
 */
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
      const iou: number[] = [];
      for (let k = 0; k < K; k++) {
        let row = 0;
        let col = 0;
        for (let j = 0; j < K; j++) (row += cm[k * K + j]!), (col += cm[j * K + k]!);
        const tp = cm[k * K + k]!;
        diag += tp;
        total += row;
        iou.push(row + col - tp > 0 ? tp / (row + col - tp) : NaN);
      }
      const present = iou.filter((v) => !Number.isNaN(v));
      const miou = present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN;
      return flattenMetrics({ miou, pixelAccuracy: total > 0 ? diag / total : NaN, iou }, task.classNames);
    },
  };
}
