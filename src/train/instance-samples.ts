// Sample predictions of an instance run: the first validation images as rows of
// image | ground truth | detections (masks, boxes, class and score drawn over the image, the
// detections scoring at least 0.5), written to one PNG, as samples.png of a semantic run.
import { deviceOf, type Module } from '../nn/index.js';
import { inferenceMode, tidy } from '../torch/index.js';
import { DataLoader } from '../data/loader.js';
import type { SegDataset } from '../data/dataset.js';
import type { StepConfig } from '../data/transforms/index.js';
import type { ImageBuffer } from '../data/types.js';
import { toDisplay, type Palette } from '../data/overlay.js';
import { writeImage } from '../io/image.js';
import { makeGrid } from '../data/preview.js';
import { drawDetections, readDetection } from '../predict/instances/index.js';
import { detectBatch, truthArrays } from '../predict/instances/batch.js';

export interface InstanceSampleOptions {
  count: number;
  transform: StepConfig[];
  classNames?: readonly string[];
  palette?: Palette;
}

/** Writes `file` with up to `count` rows; returns how many rows it drew. */
export async function writeInstanceSamples(file: string, model: Module, dataset: SegDataset, opts: InstanceSampleOptions): Promise<number> {
  const n = Math.min(opts.count, dataset.length);
  if (n === 0) return 0;
  const subset = dataset.subset(Array.from({ length: n }, (_, i) => i));
  const loader = new DataLoader(subset, { batchSize: 1, transform: opts.transform, imageList: true });
  const draw = { classNames: opts.classNames, palette: opts.palette, lineWidth: 1, fontSize: 9 };
  const cells: ImageBuffer[] = [];
  const wasTraining = model.training;
  const place = { device: deviceOf(model), channelsLast: false };
  model.eval();
  try {
    for await (const batch of loader) {
      const { image: data, shape } = batch.list![0]!;
      const [C, H, W] = shape;
      const found = inferenceMode(() => tidy(() => readDetection(detectBatch(model, batch, place)[0]!, { scoreThreshold: 0.5 })));
      const image = toDisplay(data, C, H, W, undefined);
      cells.push(image, await drawDetections(image, truthArrays(batch.instances?.[0] ?? [], H, W), { ...draw, text: false }), await drawDetections(image, found, draw));
    }
  } finally {
    model.train(wasTraining);
    await loader.close();
  }
  await writeImage(file, makeGrid(cells, 3, 0)); // rows of image | truth | detections, no gaps
  return cells.length / 3;
}
