// One validation pass (the model in eval mode over the whole validation loader, from its first
// batch every time, an evaluator fed batch by batch) and the rule that decides whether a metric
// value improves on the best so far.
import { deviceOf, type Module } from '../nn/index.js';
import { inferenceMode, runAsync, tidy } from '../torch/index.js';
import type { DataLoader } from '../data/loader.js';
import type { Evaluator } from './defaults.js';
import type { TrainTask } from './task.js';

/**
 * Metrics of `model` over every batch of `loader` (and the confusion matrix when the evaluator
 * gives one); the model's train/eval mode is restored.
 */
export async function evaluatePass(model: Module, loader: DataLoader, evaluator: Evaluator, task: TrainTask, channelsLast: boolean): Promise<{ metrics: Record<string, number>; confusion?: number[][] }> {
  loader.loadState({ ...loader.state(), epoch: 0, position: 0 }); // the same batches every time
  const wasTraining = model.training;
  const device = deviceOf(model);
  model.eval();
  try {
    for await (const batch of loader) {
      await runAsync(() =>
        inferenceMode(() =>
          tidy(() => task.evaluate(model, batch, evaluator, { device, channelsLast })),
        ),
      );
    }
    const metrics = evaluator.compute();
    const confusion = evaluator.confusion?.();
    return confusion ? { metrics, confusion } : { metrics };
  } finally {
    model.train(wasTraining);
    evaluator.dispose?.();
  }
}

/** Whether `value` beats `best` by more than `minDelta` in direction `mode` (NaN never does). */
export function improves(value: number, best: number | undefined, mode: 'max' | 'min', minDelta: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return mode === 'max' ? value > best + minDelta : value < best - minDelta;
}

/** Metric names for a message: the summary ones, then the per-class/nested groups with an example. */
export function describeNames(names: string[]): string {
  const top = names.filter((n) => !n.includes('.'));
  const rest = names.filter((n) => n.includes('.'));
  const groups = [...new Set(rest.map((n) => n.slice(0, n.lastIndexOf('.'))))];
  return `${top.join(', ')}${rest.length ? `; per class or nested: ${groups.map((g) => `${g}.<${rest.find((n) => n.startsWith(`${g}.`))!.slice(g.length + 1)}|...>`).join(', ')}` : ''}`;
}

/** The summary metrics (no per-class ones) as `name value, ...` for a log line. */
export function formatSummary(metrics: Record<string, number>): string {
  // metrics that are all nested (COCO's segm.AP, bbox.AP, ...): their AP, AP50 and AP75
  const plain = Object.keys(metrics).some((k) => !k.includes('.'));
  return Object.entries(metrics)
    .filter(([k]) => (plain ? !k.includes('.') : /\.AP(50|75)?$/.test(k)))
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(', ');
}
