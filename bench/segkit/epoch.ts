// Workload 7, segkit side: one training epoch of the demo's first set-up (bench/epoch/shapes-unet.yaml) end
// to end, as `segkit train` runs it: open the dataset, build the model, optimizer and schedule,
// train every batch of the train split (loader workers decode and augment), validate on the val
// split (confusion-matrix metrics), write the checkpoint and weights. One timed step = one such
// run with train.epochs 1 in a fresh run folder (reports, samples and TensorBoard off: the peer
// writes none). bench/peers/torch_epoch.py is the PyTorch script doing the same.
//
//   node dist/bench/segkit/epoch.js --data .cache/bench/epoch-data [--config bench/epoch/shapes-unet.yaml] [--reps 5] [--threads 2]
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import { emitResult, median, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 0, size: 0 }, ['data', 'config', 'out']);
const config = flags.rest.config ?? 'bench/epoch/shapes-unet.yaml';
const data = resolve(flags.rest.data ?? '.cache/bench/epoch-data');
const outDir = resolve(flags.rest.out ?? '.cache/bench/epoch-runs');
const cfg = loadTrainConfig(config, [
  `data.path=${JSON.stringify(data)}`,
  `outDir=${JSON.stringify(outDir)}`,
  `threads=${flags.threads}`,
  'train.epochs=1',
  'train.iterations=null',
  'train.report=false',
  'train.samples=0',
  'train.tensorboard=false',
]);
let steps = 0;
let rep = 0;
const epoch = async () => {
  const name = `rep${rep++}`;
  rmSync(resolve(outDir, name), { recursive: true, force: true });
  const r = await runTraining({ ...cfg, name }, { print: (line) => line.startsWith('training ') && process.stderr.write(`${line}\n`) });
  if (r.epoch !== 1 || r.lastMetrics === null) throw new Error(`the run did not finish one validated epoch (epoch ${r.epoch})`);
  steps = r.step;
};
const times = await timeSteps(epoch, flags.reps, flags.warmup, 'epoch segkit');
rmSync(outDir, { recursive: true, force: true });
emitResult({ workload: 'epoch', runner: 'segkit', batch: 1, threads: flags.threads, times, seconds: median(times), config, batch_size: cfg.data.batchSize, workers: cfg.data.numWorkers, channels_last: cfg.model.channelsLast, train_steps: steps });
