// Workload 5, segkit side: the DataLoader over bench/loader/make_data.mjs's 256 JPEG/PNG pairs,
// decode + random scale 0.5-2.0 + random crop 512 (image pad 0, mask pad 255) + horizontal flip +
// ImageNet normalise, batch 8, shuffled, `--workers` worker threads. One timed step = one epoch.
// Prints ONE JSON line (bench/harness/protocol.ts). bench/loader/torch_loader.py is the peer.
//
//   node dist/bench/loader/segkit_loader.js --data .cache/bench/loader-data --workers 2
//   [--antialias true|false] [--recycle true|false] [--reps 5] [--warmup 1]
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { SegDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import type { StepConfig } from '../../src/data/transforms/index.js';
import type { SampleRef } from '../../src/data/types.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 8, size: 512 }, ['workers', 'data', 'antialias', 'recycle']);
const dataDir = resolve(flags.rest.data ?? '.cache/bench/loader-data');
const workers = flags.rest.workers === undefined ? availableParallelism() : Number(flags.rest.workers);
if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers must be an integer >= 0, got "${flags.rest.workers}"`);
// PIL (the peer's resize) filters when it shrinks; antialias on does the same work here.
const antialias = (flags.rest.antialias ?? 'true') !== 'false';
// A training loop turns each batch into tensors before asking for the next, so it can let the
// loader rewrite batch memory in place (DataLoaderOptions.recycle); --recycle false measures
// fresh arrays per batch.
const recycle = (flags.rest.recycle ?? 'true') !== 'false';
if (!existsSync(join(dataDir, 'images'))) throw new Error(`${dataDir}/images not found; run: node bench/loader/make_data.mjs --out ${dataDir}`);

const refs: SampleRef[] = readdirSync(join(dataDir, 'images'))
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => {
    const id = f.slice(0, -4);
    return { id, imagePath: join(dataDir, 'images', f), maskPath: join(dataDir, 'masks', `${id}.png`) };
  });
if (refs.length === 0) throw new Error(`no .jpg files in ${dataDir}/images`);

const transform: StepConfig[] = [
  { name: 'randomScale', range: [0.5, 2.0], antialias },
  { name: 'randomCrop', size: [flags.size, flags.size], padValue: 0 },
  { name: 'horizontalFlip', p: 0.5 },
  { name: 'normalize' },
];
const loader = new DataLoader(new SegDataset({ refs }), {
  batchSize: flags.batch,
  shuffle: true,
  seed: 0,
  numWorkers: workers,
  transform,
  ignoreIndex: 255,
  recycle,
});

const epoch = async () => {
  let images = 0;
  for await (const batch of loader) {
    if (batch.shape[2] !== flags.size || batch.masks?.length !== batch.shape[0] * flags.size * flags.size) throw new Error(`unexpected batch shape ${batch.shape}`);
    images += batch.shape[0];
  }
  if (images !== refs.length) throw new Error(`an epoch gave ${images} images, expected ${refs.length}`);
};
try {
  const times = await timeSteps(epoch, flags.reps, flags.warmup, 'loader segkit');
  emitResult({
    workload: 'loader',
    runner: 'segkit',
    batch: refs.length, // images per timed step (one epoch)
    threads: flags.threads,
    times,
    workers,
    batch_size: flags.batch,
    antialias,
    recycle,
  });
} finally {
  await loader.close();
}
