// Evaluating a model over a dataset: each image predicted (whole, by sliding windows, or with
// test-time augmentation), counted into a ConfusionMatrix, reported as scores, a per-class table,
// a Markdown and JSON report and an HTML page with the confusion matrix and sample panels.
import { Tensor, inferenceMode, tensor, tidy } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { ConfusionMatrix, formatClassTable, type SegmentationMetrics } from '../metrics/index.js';
import type { SegDataset } from '../data/dataset.js';
import { normalizeImage, type NormalizeParams } from '../data/transforms/normalize.js';
import { backgroundSkip, overlayMask, type Palette } from '../data/overlay.js';
import { makeGrid, encodePng } from '../data/preview.js';
import { classIds, predictProbabilities, type InferenceOptions } from './inference.js';
import { forwardOf, type Forward } from './forward.js';

export interface EvaluateOptions {
  numClasses: number;
  normalize: NormalizeParams;
  inference?: InferenceOptions;
  /** One-channel models: foreground at this probability or above (default 0.5). */
  threshold?: number;
  /** Image | prediction | truth panels of the first `panels` images (default 0), for reports. */
  panels?: number;
  palette?: Palette;
  onImage?: (index: number, total: number) => void;
}

export interface Evaluation {
  metrics: SegmentationMetrics;
  images: number;
  /** Images the dataset skipped (onBadFile: skip), with the reason. */
  skipped: Array<{ id: string; reason: string }>;
  panels: { caption: string; png: Uint8Array }[];
}

/** Predicts every image of `dataset` that has a mask with `model` (a Module in eval mode, or a Forward) and scores the predictions. */
export async function evaluate(model: Module | Forward, dataset: SegDataset, opts: EvaluateOptions): Promise<Evaluation> {
  const forward = forwardOf(model);
  const cm = new ConfusionMatrix({ numClasses: opts.numClasses, ignoreIndex: dataset.ignoreIndex, threshold: opts.threshold, binaryInput: 'probabilities' });
  const panels: Evaluation['panels'] = [];
  let images = 0;
  try {
    for (let i = 0; i < dataset.length; i++) {
      const sample = await dataset.tryGet(i);
      opts.onImage?.(i, dataset.length);
      if (sample === null) continue;
      if (!sample.mask) throw new Error(`${sample.ref.imagePath}: no mask to evaluate against; evaluate a dataset with masks`);
      const { image, mask } = sample;
      const input = normalizeImage(image, opts.normalize);
      const x = tensor(input.data, { shape: [1, input.channels, image.height, image.width] });
      let probs: Tensor;
      try {
        probs = await predictProbabilities(forward, x, opts.inference);
      } finally {
        x.dispose();
      }
      let predicted: Uint8Array | undefined;
      try {
        predicted = inferenceMode(() =>
          tidy(() => {
            const target = tensor(Int32Array.from(mask.data), { shape: [1, mask.height, mask.width] });
            cm.update(probs, target);
            if (panels.length >= (opts.panels ?? 0)) return undefined;
            return Uint8Array.from(classIds(probs, opts.threshold).toArray());
          }),
        );
      } finally {
        probs.dispose();
      }
      images++;
      if (predicted && opts.palette) {
        const skip = backgroundSkip(opts.palette);
        const pred = overlayMask(image, { data: predicted, width: image.width, height: image.height }, opts.palette, 0.6, { skip, ignoreIndex: dataset.ignoreIndex });
        const truth = overlayMask(image, mask, opts.palette, 0.6, { skip, ignoreIndex: dataset.ignoreIndex });
        panels.push({ caption: `${sample.ref.id}: image | prediction | truth`, png: await encodePng(makeGrid([image, pred, truth], 3)) });
      }
    }
    if (images === 0) throw new Error('no image of the dataset could be evaluated');
    return { metrics: cm.compute(), images, skipped: dataset.skipped.map((s) => ({ id: s.ref.id, reason: s.reason })), panels };
  } finally {
    cm.dispose();
  }
}

/** A score as a percentage with two decimals; '-' where it is undefined (NaN). */
export const percent = (v: number): string => (Number.isNaN(v) ? '-' : `${(v * 100).toFixed(2)}%`);
const pct = percent;

/** The evaluation as Markdown: headline scores (dataset-level and per-image) and the per-class table. */
export function evaluationMarkdown(title: string, e: Evaluation, classNames?: string[]): string {
  const m = e.metrics;
  const lines = [
    `# ${title}`,
    '',
    `${e.images} images${e.skipped.length ? ` (${e.skipped.length} skipped)` : ''}, ${m.pixels.toLocaleString('en-US')} pixels counted.`,
    '',
    '| score | dataset-level | per-image mean |',
    '| --- | ---: | ---: |',
    `| mIoU | ${pct(m.miou)} | ${pct(m.perImage.miou)} |`,
    `| mean Dice | ${pct(m.meanDice)} | ${pct(m.perImage.meanDice)} |`,
    `| pixel accuracy | ${pct(m.pixelAccuracy)} | - |`,
    `| mean class accuracy | ${pct(m.meanClassAccuracy)} | - |`,
    `| frequency-weighted IoU | ${pct(m.fwIou)} | - |`,
    ...(m.binaryDice !== undefined ? [`| binary Dice (foreground) | ${pct(m.binaryDice)} | ${pct(m.perImage.binaryDice ?? NaN)} |`] : []),
    '',
    'Dataset-level scores come from one confusion matrix summed over every pixel; per-image scores are computed on each image and averaged, so every image weighs the same.',
    '',
    formatClassTable(m, { classNames, format: 'markdown' }),
  ];
  if (m.absent.length > 0) lines.push(`Absent from truth and prediction (left out of the means): ${m.absent.map((c) => classNames?.[c] ?? String(c)).join(', ')}.`, '');
  return lines.join('\n');
}
