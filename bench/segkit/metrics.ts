// segkit's runner for the metrics workload (BENCH.md 6): a ConfusionMatrix of 19 classes with
// ignore index 255 counts `--updates` batches of `--batch` (height x width) predicted class
// indices and targets (int64, about 10% of the targets ignored), then computes its scores.
// One step = a fresh matrix, every update, compute(). Reports megapixels per second.
import * as torch from '../../src/torch/index.js';
import { ConfusionMatrix } from '../../src/metrics/index.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 2, size: 1024 }, ['width', 'updates', 'classes']);
const int = (name: string, fallback: number): number => {
  const raw = flags.rest[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got "${raw}"`);
  return n;
};
const [height, width, updates, classes] = [flags.size, int('width', 2048), int('updates', 12), int('classes', 19)];
torch.setNumThreads(flags.threads);
torch.manualSeed(0);

const shape = [flags.batch, height, width];
// targets: uniform classes, 10% ignored; predictions: right on 70% of the pixels, else uniform
const { pred, target } = torch.tidy(() => {
  const truth = torch.randint(0, classes, shape);
  const target = truth.maskedFill(torch.rand(shape).lt(0.1), 255);
  const pred = truth.where(torch.rand(shape).lt(0.7), torch.randint(0, classes, shape));
  return { pred, target };
});

const step = () => {
  const cm = new ConfusionMatrix({ numClasses: classes, ignoreIndex: 255 });
  for (let i = 0; i < updates; i++) cm.update(pred, target);
  cm.compute();
};
const times = await timeSteps(step, flags.reps, flags.warmup, 'segkit metrics');
const pixels = updates * flags.batch * height * width;
const median = [...times].sort((a, b) => a - b)[times.length >> 1]!;
emitResult({
  workload: 'metrics',
  runner: 'segkit',
  batch: updates * flags.batch,
  threads: flags.threads,
  times,
  mpixels_per_s: pixels / 1e6 / median,
  pixels_per_step: pixels,
  shape: [flags.batch, height, width],
  updates,
  classes,
});
