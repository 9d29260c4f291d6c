// The main job in miniature: generate the bundled shapes dataset, split it 7:2:1, train a UNet
// through segkit's loader (worker threads decode and augment while libtorch trains on the compute
// thread), evaluate pixel accuracy and IoU on the validation part after each epoch, and write
// prediction overlays for the test part to runs/demo/.
import { SingleBar, Presets } from 'cli-progress';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from './torch/index.js';
import { UNet } from './models/unet.js';
import { AdamW, OneCycleLR } from './optim/index.js';
import { ensureShapes, shapesSource, SHAPES_LABEL_MAP, SHAPE_CLASSES } from './data/bundled.js';
import { SegDataset } from './data/dataset.js';
import { DataLoader } from './data/loader.js';
import { randomSplit, applySplit } from './data/splits.js';
import { computeStats } from './data/stats.js';
import { batchToTensors } from './data/to-tensors.js';
import { normalizeImage } from './data/transforms/normalize.js';
import { overlayMask } from './data/overlay.js';
import { writeImage } from './io/image.js';
import type { ImageBuffer, MaskBuffer } from './data/types.js';

const epochs = Number(process.env.SEGKIT_DEMO_EPOCHS ?? 40);
const images = Number(process.env.SEGKIT_DEMO_IMAGES ?? 240);
const numClasses = SHAPE_CLASSES.length;
const BATCH = Number(process.env.SEGKIT_DEMO_BATCH ?? 8);
const outDir = join('runs', 'demo');
const PALETTE = SHAPES_LABEL_MAP.palette as [number, number, number][];

torch.manualSeed(0);
console.log(`segkit demo: libtorch ${torch.buildInfo().torchVersion}, ${torch.getNumThreads()} threads`);

// ---- data ----
const dir = await ensureShapes({ dir: 'data/shapes', count: images, size: 96 });
const spec = await shapesSource(dir);
const parts = applySplit(spec, randomSplit(spec.refs, [7, 2, 1], { seed: 0 }));
const [train, val, test] = [parts.train, parts.val, parts.test].map((s) => new SegDataset(s));
console.log(`dataset ${dir}: ${train.length} train, ${val.length} val, ${test.length} test images, classes ${SHAPE_CLASSES.join(', ')}`);
// the training part's statistics: normalisation mean/std, and class weights against the
// background's dominance (median frequency balancing)
const { stats } = await computeStats(train, { numClasses });
console.log(`train mean ${stats.mean.map((v) => v.toFixed(3))}, std ${stats.std.map((v) => v.toFixed(3))}; class weights ${stats.weights.medianFrequency.map((v) => v.toFixed(2))}`);
const normalize = { name: 'normalize' as const, mean: stats.mean, std: stats.std };
const classWeights = torch.tensor(stats.weights.medianFrequency);
const trainLoader = new DataLoader(train, {
  batchSize: BATCH, shuffle: true, seed: 0, numWorkers: 1,
  transform: [{ name: 'horizontalFlip', p: 0.5 }, { name: 'verticalFlip', p: 0.5 }, normalize],
});
const evalLoader = (ds: SegDataset) => new DataLoader(ds, { batchSize: 8, numWorkers: 0, transform: [normalize] });

// ---- model ----
const model = new UNet({ inChannels: 3, numClasses, baseWidth: 16, depth: 4 }).toChannelsLast();
const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
const stepsPerEpoch = Math.ceil(train.length / BATCH);
const scheduler = new OneCycleLR(optimizer, { maxLr: 3e-3, totalSteps: epochs * stepsPerEpoch });

/** Confusion counts (true * K + predicted), ignore index left out. */
function confusion(logits: torch.Tensor, target: torch.Tensor): number[] {
  return torch.tidy(() => {
    const pred = logits.argmax(1);
    const valid = target.ne(255);
    const idx = target.mul(numClasses).add(pred).maskedFill(valid.logicalNot(), numClasses * numClasses);
    return idx.flatten().bincount(undefined, numClasses * numClasses + 1).toArray().slice(0, numClasses * numClasses);
  });
}

async function evaluate(ds: SegDataset): Promise<{ acc: number; iou: number[] }> {
  model.eval();
  const cm = new Array(numClasses * numClasses).fill(0);
  const loader = evalLoader(ds);
  for await (const batch of loader) {
    const counts = torch.inferenceMode(() =>
      torch.tidy(() => {
        const { images, masks } = batchToTensors(batch, { channelsLast: true });
        return confusion(model.call(images).out, masks!);
      }),
    );
    counts.forEach((c, i) => (cm[i] += c));
  }
  await loader.close();
  model.train();
  const diag = (k: number) => cm[k * numClasses + k];
  const row = (k: number) => cm.slice(k * numClasses, (k + 1) * numClasses).reduce((a, b) => a + b, 0);
  const col = (k: number) => Array.from({ length: numClasses }, (_, t) => cm[t * numClasses + k]).reduce((a, b) => a + b, 0);
  const total = cm.reduce((a, b) => a + b, 0);
  const acc = Array.from({ length: numClasses }, (_, k) => diag(k)).reduce((a, b) => a + b, 0) / total;
  const iou = Array.from({ length: numClasses }, (_, k) => diag(k) / Math.max(1, row(k) + col(k) - diag(k)));
  return { acc, iou };
}

// ---- train ----
const bar = new SingleBar({ format: 'epoch {epoch} |{bar}| {value}/{total} steps | loss {loss}', hideCursor: true }, Presets.shades_classic);
const epochLoss: number[] = [];
for (let epoch = 1; epoch <= epochs; epoch++) {
  bar.start(stepsPerEpoch, 0, { epoch, loss: '-' });
  let sum = 0;
  let steps = 0;
  for await (const batch of trainLoader) {
    const loss = await torch.runAsync(() =>
      torch.tidy(() => {
        const { images, masks } = batchToTensors(batch, { channelsLast: true });
        optimizer.zeroGrad();
        const l = torch.F.crossEntropy(model.call(images).out, masks!, { ignoreIndex: 255, weight: classWeights });
        l.backward();
        optimizer.step();
        return l;
      }),
    );
    scheduler.step();
    sum += loss.item();
    loss.dispose();
    steps++;
    bar.update(steps, { loss: (sum / steps).toFixed(4) });
  }
  bar.stop();
  epochLoss.push(sum / steps);
  const { acc, iou } = await evaluate(val);
  const miou = iou.reduce((a, b) => a + b, 0) / numClasses;
  console.log(`epoch ${epoch}: train loss ${epochLoss[epoch - 1].toFixed(4)} | val pixel acc ${(100 * acc).toFixed(1)}% mIoU ${(100 * miou).toFixed(1)}% | IoU ${iou.map((v, k) => `${SHAPE_CLASSES[k]} ${(100 * v).toFixed(0)}`).join(', ')}`);
}
await trainLoader.close();

// ---- predict: image | ground truth | prediction, one row per test image ----
mkdirSync(outDir, { recursive: true });
model.eval();
const rows: ImageBuffer[] = [];
for (let i = 0; i < Math.min(test.length, 4); i++) {
  const sample = await test.get(i);
  const { width, height } = sample.image;
  // the same normalisation the loaders apply, on the sample already decoded for the overlay
  const input = normalizeImage(sample.image, normalize);
  const pred = torch.inferenceMode(() =>
    torch.tidy(() => {
      const x = torch.tensor(input.data, { shape: [1, input.channels, height, width] }).contiguous('channels_last');
      return Uint8Array.from(model.call(x).out.argmax(1).toArray());
    }),
  );
  const predMask: MaskBuffer = { data: pred, width, height };
  rows.push(hconcat([sample.image, overlayMask(sample.image, sample.mask!, PALETTE, 0.6, { skip: [0] }), overlayMask(sample.image, predMask, PALETTE, 0.6, { skip: [0] })]));
}
const grid = vconcat(rows);
await writeImage(join(outDir, 'predictions.png'), grid);
console.log(`predictions for ${rows.length} test images (image | truth | prediction): ${join(outDir, 'predictions.png')}`);

const { acc, iou } = await evaluate(test);
console.log(`test: pixel acc ${(100 * acc).toFixed(1)}%, mIoU ${((100 * iou.reduce((a, b) => a + b, 0)) / numClasses).toFixed(1)}%`);
optimizer.dispose();
model.dispose();
classWeights.dispose();
if (!(epochLoss[epochLoss.length - 1] < epochLoss[0])) {
  console.error('demo: the training loss did not go down');
  process.exitCode = 1;
}

function hconcat(images: ImageBuffer[]): ImageBuffer {
  const h = images[0].height;
  const width = images.reduce((a, im) => a + im.width, 0);
  const data = new Uint8Array(width * h * 3);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < h; y++) data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + x0) * 3);
    x0 += im.width;
  }
  return { data, width, height: h, channels: 3 };
}

function vconcat(images: ImageBuffer[]): ImageBuffer {
  const width = images[0].width;
  const data = new Uint8Array(images.reduce((a, im) => a + im.data.length, 0));
  let off = 0;
  for (const im of images) {
    data.set(im.data, off);
    off += im.data.length;
  }
  return { data, width, height: images.reduce((a, im) => a + im.height, 0), channels: 3 };
}
