// The trainer's two plug points and what a config plugs into them. The trainer only knows:
//   LossFn     (output {out, aux?}, target) => { total, terms }  — src/losses' buildLoss(spec)
//   Evaluator  update(output, target) per batch, compute() => flat metrics — src/metrics'
//              ConfusionMatrix through `flattenMetrics`
// so a custom loss or evaluator (a Trainer built in code) needs only these shapes.
import type { Tensor } from '../torch/index.js';
import { buildLoss, classWeightingsOf, resolveClassWeights } from '../losses/index.js';
import { ConfusionMatrix } from '../metrics/index.js';
import type { SegmentationOutput } from '../models/segmentation.js';
import type { TrainConfig } from './config.js';

export interface LossResult {
  /** The scalar to backpropagate. */
  total: Tensor;
  /** Named parts of the total (logged; checked when non-finite), e.g. { focal, dice }. */
  terms?: Record<string, Tensor | number>;
}

export type LossFn = (output: SegmentationOutput, target: Tensor) => LossResult;

/** Accumulates predictions over a validation pass (semantic: logits and masks; instance: detections and the batch). */
export interface Evaluator<Output = SegmentationOutput, Target = Tensor> {
  update(output: Output, target: Target): void;
  /** Metric name to value (flat: 'miou', 'iou.circle', 'perImage.miou'); val.metric is one of the names. */
  compute(): Record<string, number>;
  /** The confusion matrix counted so far (truth rows, prediction columns), for the run report. */
  confusion?(): number[][];
  dispose?(): void;
}

export interface TaskInfo {
  numClasses: number;
  ignoreIndex: number;
  classNames?: string[];
}

/**
 * The loss of a config: src/losses' buildLoss, with the label map's ignore index unless the spec
 * gives one; class weights given by name ('median-frequency') come from `classWeights`, the
 * train split's (setup.ts weightsByName).
 */
export function defaultLoss(cfg: TrainConfig, task: TaskInfo, classWeights?: Record<string, number[]>): LossFn & { dispose?(): void } {
  const named = classWeightingsOf(cfg.loss);
  if (named.length > 0 && !classWeights) throw new Error(`loss: class weights '${named.join("', '")}' need the train split's statistics (buildData computes them)`);
  const spec = named.length > 0 ? resolveClassWeights(cfg.loss, classWeights!) : cfg.loss;
  return buildLoss({ ...spec, ignoreIndex: cfg.loss.ignoreIndex ?? task.ignoreIndex }, 'loss');
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

/** Validation metrics: src/metrics' ConfusionMatrix (dataset-level and per-image scores), flattened. */
export function defaultEvaluator(task: TaskInfo): Evaluator {
  const cm = new ConfusionMatrix({ numClasses: task.numClasses, ignoreIndex: task.ignoreIndex });
  return {
    update: (output, target) => void cm.update(output.out, target),
    compute: () => flattenMetrics(cm.compute(), task.classNames),
    confusion: () => cm.matrix,
    dispose: () => cm.dispose(),
  };
}
