// Data-parallel training (train.processes): the loader's shards, what one step computes, and
// that a run is reproducible and resumes exactly with followers in other processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeaksEachTest } from '../leak.js';
import { noGrad, tidy } from '../../src/torch/index.js';
import { generateShapes } from '../../src/data/bundled.js';
import { SegDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { openInput } from '../../src/data/doctor/input.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { buildData, buildModel } from '../../src/train/setup.js';
import { defaultLoss } from '../../src/train/defaults.js';
import { forwardBackward } from '../../src/train/step.js';
import { semanticTask } from '../../src/train/task.js';
import { runTraining } from '../../src/train/run.js';
import { JsonlLog } from '../../src/train/logging.js';

checkLeaksEachTest();
let tmp: string;
let shapes: string;
let runs = 0;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-parallel-'));
  shapes = await generateShapes({ dir: join(tmp, 'shapes'), count: 20, size: 32 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function config(over: { train?: TrainConfigInput['train']; optimizer?: TrainConfigInput['optimizer']; checkpoint?: TrainConfigInput['checkpoint']; name?: string } = {}) {
  return parseTrainConfig({
    name: over.name ?? `p${runs++}`,
    outDir: join(tmp, 'runs'),
    threads: 1,
    data: { path: shapes, batchSize: 2, splitRatios: [4, 1], transforms: [{ name: 'horizontalFlip' }, { name: 'normalize' }], valTransforms: [{ name: 'normalize' }] },
    model: { name: 'unet', options: { baseWidth: 4, depth: 2 } },
    optimizer: over.optimizer ?? { name: 'adamw', lr: 0.01 },
    scheduler: { name: 'none' },
    train: { iterations: 4, processes: 2, report: false, tensorboard: false, samples: 0, ...over.train },
    ...(over.checkpoint ? { checkpoint: over.checkpoint } : {}),
  });
}

/** name -> values of a safetensors file's float32 tensors (and raw bytes, for bit-for-bit checks). */
function weightsOf(file: string): Map<string, { values: number[]; bytes: Buffer }> {
  const out = new Map<string, { values: number[]; bytes: Buffer }>();
  for (const [k, t] of readSafetensors(file).tensors) {
    const bytes = Buffer.from(t.data);
    out.set(k, { values: t.dtype === 'float32' ? Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)) : [], bytes });
  }
  return out;
}

test('DataLoader shard: the ranks\' batches put side by side are the unsharded loader\'s batches of batchSize x count', async () => {
  const { spec } = await openInput(shapes, {});
  const ds = new SegDataset(spec);
  const common = { shuffle: true, seed: 3, transform: [{ name: 'horizontalFlip' as const }, { name: 'normalize' as const }] };
  const whole = new DataLoader(ds, { ...common, batchSize: 6, dropLast: true });
  const shards = [0, 1, 2].map((rank) => new DataLoader(ds, { ...common, batchSize: 2, shard: { rank, count: 3 } }));
  try {
    assert.equal(whole.length, 3); // 20 samples: 3 global batches of 6, the last 2 samples left out
    for (const s of shards) assert.equal(s.length, 3);
    for (let epoch = 0; epoch < 2; epoch++) {
      const got: Float32Array[][] = [[], [], []];
      for (const [r, s] of shards.entries()) for await (const b of s) got[r]!.push(b.images.slice());
      let k = 0;
      for await (const b of whole) {
        const side = new Float32Array(b.images.length);
        let at = 0;
        for (const r of [0, 1, 2]) (side.set(got[r]![k]!, at), (at += got[r]![k]!.length));
        assert.deepEqual(side, b.images, `epoch ${epoch} batch ${k}`);
        k++;
      }
    }
    assert.deepEqual(shards[1]!.state().shards, 3);
    const other = new DataLoader(ds, { ...common, batchSize: 2 });
    assert.throws(() => other.loadState(shards[1]!.state()), /sharded over 3 data-parallel process\(es\) but this loader over 1/);
    await other.close();
    assert.throws(() => new DataLoader(ds, { batchSize: 2, shard: { rank: 2, count: 2 } }), /shard needs integers 0 <= rank < count, got rank 2, count 2/);
  } finally {
    await whole.close();
    for (const s of shards) await s.close();
  }
});

test('train.processes 2: one step applies the mean of the two ranks\' gradients, and BatchNorm statistics are averaged', async () => {
  const lr = 0.1;
  const cfg = config({ train: { iterations: 1 }, optimizer: { name: 'sgd', lr } });
  await runTraining(cfg, { print: () => {} });
  const after1 = weightsOf(join(cfg.outDir, cfg.name, 'last.safetensors'));
  // the same step by hand, in this process: each rank's first batch on a copy of the initial model
  const single = { ...cfg, train: { ...cfg.train, processes: 1 } };
  const grads: Map<string, number[]>[] = [];
  const stats: Map<string, number[]>[] = [];
  let initial: Map<string, number[]> | undefined;
  for (const rank of [0, 1]) {
    const data = await buildData(single, { shard: { rank, count: 2 } });
    const model = buildModel(single, data.task);
    const loss = defaultLoss(single, data.task);
    try {
      initial ??= new Map(model.namedParameters().map(([k, p]) => [k, p.toArray()]));
      model.train();
      for await (const batch of data.trainLoader) {
        await forwardBackward(model, semanticTask(loss), batch, 1, { amp: false, channelsLast: false });
        break;
      }
      grads.push(new Map(model.namedParameters().map(([k, p]) => [k, tidy(() => p.grad!.toArray())])));
      stats.push(new Map(model.namedBuffers().filter(([, b]) => b.dtype === 'float32').map(([k, b]) => [k, b.toArray()])));
      noGrad(() => model.parameters().forEach((p) => (p.grad = undefined)));
    } finally {
      loss.dispose?.();
      model.dispose();
      await data.trainLoader.close();
      await data.valLoader.close();
    }
  }
  let compared = 0;
  for (const [k, w0] of initial!) {
    const got = after1.get(k)!.values;
    w0.forEach((w, i) => {
      const want = w - lr * ((grads[0]!.get(k)![i]! + grads[1]!.get(k)![i]!) / 2);
      assert.ok(Math.abs(got[i]! - want) < 1e-5, `${k}[${i}]: ${got[i]} after the step, expected ${want}`);
      compared++;
    });
  }
  for (const [k, s0] of stats[0]!) {
    const got = after1.get(k)!.values;
    s0.forEach((v, i) => assert.ok(Math.abs(got[i]! - (v + stats[1]!.get(k)![i]!) / 2) < 1e-6, `${k}[${i}]`));
  }
  assert.ok(compared > 1000, `${compared} weights compared`);
  // and it is not what one process on rank 0's batch alone would have done
  const k = 'head.weight';
  const alone = initial!.get(k)!.map((w, i) => w - lr * grads[0]!.get(k)![i]!);
  assert.ok((after1.get(k)!.values).some((v, i) => Math.abs(v - alone[i]!) > 1e-4));
});

test('train.processes 2: a rerun gives the same weights bit for bit, and a run interrupted and resumed ends with them too', async () => {
  const a = config({ name: 'dp-a', train: { iterations: 6 }, checkpoint: { every: 2, unit: 'iteration' } });
  const lines: string[] = [];
  await runTraining(a, { print: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /batches of 2 x 2 processes per epoch/.test(l)), lines.join('\n'));
  const rerun = config({ name: 'dp-rerun', train: { iterations: 6 } });
  await runTraining(rerun, { print: () => {} });
  const b = config({ name: 'dp-b', train: { iterations: 6 }, checkpoint: { every: 2, unit: 'iteration' } });
  // stop after step 3 as Ctrl-C does (a checkpoint of step 3), then resume in a new call
  let stopped = false;
  const first = await runTraining(b, {
    print: () => {},
    handleSigint: true,
    hooks: {
      onRecord: (r) => {
        if (r.type === 'train' && r.step === 3 && !stopped) (stopped = true), process.emit('SIGINT');
      },
    },
  });
  assert.equal(first.interrupted, true);
  assert.equal(first.step, 3);
  const resumed = await runTraining(b, { resume: true, print: () => {} });
  assert.equal(resumed.step, 6);
  for (const other of [rerun, b]) {
    const wa = weightsOf(join(a.outDir, a.name, 'last.safetensors'));
    const wo = weightsOf(join(other.outDir, other.name, 'last.safetensors'));
    assert.deepEqual([...wo.keys()].sort(), [...wa.keys()].sort());
    for (const [k, t] of wa) assert.ok(wo.get(k)!.bytes.equals(t.bytes), `${other.name}: ${k} differs`);
  }
  const losses = (c: typeof a) => JsonlLog.read(join(c.outDir, c.name, 'train.jsonl')).filter((r) => r.type === 'train').map((r) => r.loss);
  assert.deepEqual(losses(b), losses(a));
  assert.equal(readdirSync('/dev/shm').filter((f) => f.startsWith('segkit-dp-')).length, 0, 'exchange folders removed');
});
