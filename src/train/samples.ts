// Sample predictions of a run: the first validation images as rows of
// image | ground truth | prediction (masks blended over the image), written to one PNG. The
// images go through the validation transforms, so each row shows exactly what the model saw
// (the normalisation undone for display).
import { deviceOf, type Module } from '../nn/index.js';
import { inferenceMode, tidy, tensor } from '../torch/index.js';
import type { SegmentationOutput } from '../models/segmentation.js';
import { DataLoader } from '../data/loader.js';
import type { SegDataset } from '../data/dataset.js';
import { overlayMask, toDisplay, type Palette } from '../data/overlay.js';
import { vocPalette } from '../data/labelmap.js';
import type { StepConfig } from '../data/transforms/index.js';
import type { ImageBuffer } from '../data/types.js';
import { writeImage } from '../io/image.js';
import { makeGrid } from '../data/preview.js';

export interface SampleOptions {
  count: number;
  transform: StepConfig[];
  ignoreIndex: number;
  channelsLast: boolean;
}

/** Writes `file` with up to `count` rows; returns how many rows it drew. */
export async function writeSamples(file: string, model: Module, dataset: SegDataset, opts: SampleOptions): Promise<number> {
  const n = Math.min(opts.count, dataset.length);
  if (n === 0) return 0;
  const subset = dataset.subset(Array.from({ length: n }, (_, i) => i));
  const loader = new DataLoader(subset, { batchSize: 1, transform: opts.transform, ignoreIndex: opts.ignoreIndex });
  const palette: Palette = dataset.labelMap?.palette ?? vocPalette(256);
  const overlay = { skip: [0], ignoreIndex: opts.ignoreIndex };
  const cells: ImageBuffer[] = [];
  let perRow = 0;
  const wasTraining = model.training;
  const device = deviceOf(model);
  model.eval();
  try {
    for await (const batch of loader) {
      const [, C, H, W] = batch.shape;
      const pred = inferenceMode(() =>
        tidy(() => {
          let x = tensor(batch.images, { shape: batch.shape });
          if (opts.channelsLast) x = x.contiguous('channels_last');
          if (device !== 'cpu') x = x.to({ device });
          const out = (model.call(x) as SegmentationOutput).out;
          // one sigmoid channel: foreground where the logit is above 0; else the arg-max class
          return Uint8Array.from((out.shape[1] === 1 ? out.gt(0).flatten() : out.argmax(1)).toArray() as number[]);
        }),
      );
      const image = toDisplay(batch.images, C, H, W, loader.compose.normalizeParams);
      const row = [image];
      if (batch.masks) row.push(overlayMask(image, { data: Uint8Array.from(batch.masks, (v) => Math.min(v, 255)), width: W, height: H }, palette, 0.6, overlay));
      row.push(overlayMask(image, { data: pred, width: W, height: H }, palette, 0.6, overlay));
      cells.push(...row);
      perRow = row.length;
    }
  } finally {
    model.train(wasTraining);
    await loader.close();
  }
  await writeImage(file, makeGrid(cells, perRow, 0)); // rows of image | truth | prediction, no gaps
  return cells.length / perRow;
}
