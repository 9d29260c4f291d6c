// DataLoader: batches independent of worker count, order and shuffling, resume from state,
// shape checks and errors that name the sample, worker shutdown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataLoader, type LoaderDataset } from '../../src/data/loader.js';
import { SegDataset, type DatasetSpec } from '../../src/data/dataset.js';
import { Compose, Rng, type StepConfig } from '../../src/data/transforms/index.js';
import type { Batch, Sample, SampleRef } from '../../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'segkit-loader-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Write n small PNG image/mask pairs; sizes vary unless `size` is given. Returns the refs. */
async function writeSet(name: string, n: number, size?: [number, number]): Promise<SampleRef[]> {
  const refs: SampleRef[] = [];
  for (let i = 0; i < n; i++) {
    const [w, h] = size ?? [20 + (i % 3) * 4, 16 + (i % 2) * 6];
    const img = Buffer.alloc(w * h * 3);
    const mask = Buffer.alloc(w * h);
    for (let p = 0; p < w * h; p++) {
      img[p * 3] = (p * 7 + i * 31) & 255;
      img[p * 3 + 1] = (p * 3 + i) & 255;
      img[p * 3 + 2] = i * 10;
      mask[p] = (p + i) % 4;
    }
    const imagePath = join(dir, `${name}-${i}.png`);
    const maskPath = join(dir, `${name}-${i}-mask.png`);
    await sharp(img, { raw: { width: w, height: h, channels: 3 } }).png().toFile(imagePath);
    await sharp(mask, { raw: { width: w, height: h, channels: 1 } }).png().toFile(maskPath);
    refs.push({ id: `${name}${i}`, imagePath, maskPath });
  }
  return refs;
}

// Ends in a fused scale/crop/flip, so batches are written straight from the resize.
const fused: StepConfig[] = [
  { name: 'colorJitter', saturation: 0.5 },
  { name: 'randomScale', range: [0.6, 1.6] },
  { name: 'randomCrop', size: [18, 18], padValue: 3 },
  { name: 'horizontalFlip' },
  { name: 'normalize' },
];

const crop: StepConfig[] = [
  { name: 'randomScale', range: [0.8, 1.5] },
  { name: 'randomCrop', size: [16, 16] },
  { name: 'horizontalFlip' },
  { name: 'colorJitter', brightness: 0.3, hue: 0.05 },
  { name: 'normalize' },
];

async function collect(loader: DataLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

const ids = (bs: Batch[]) => bs.map((b) => b.refs.map((r) => r.id));

let refs: SampleRef[];
test('setup: write a small dataset', async () => {
  refs = await writeSet('s', 11);
});

test('batches do not depend on the number of workers', async () => {
  const ds = new SegDataset({ refs });
  const runs: Batch[][][] = [];
  for (const numWorkers of [0, 1, 3]) {
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 7, numWorkers, transform: crop, prefetch: 1 });
    try {
      runs.push([await collect(loader), await collect(loader)]);
      if (numWorkers > 0) assert.equal(loader.workerCount, numWorkers);
    } finally {
      await loader.close();
    }
    assert.equal(loader.workerCount, 0, 'close() stops the workers');
  }
  const [a, b, c] = runs;
  for (const other of [b!, c!]) {
    for (let e = 0; e < 2; e++) {
      assert.deepEqual(ids(other[e]!), ids(a![e]!));
      for (let k = 0; k < a![e]!.length; k++) {
        assert.deepEqual(other[e]![k]!.images, a![e]![k]!.images, `epoch ${e} batch ${k} images`);
        assert.deepEqual(other[e]![k]!.masks, a![e]![k]!.masks, `epoch ${e} batch ${k} masks`);
      }
    }
  }
  // 11 samples, batch 4: 4 + 4 + 3; shapes N,C,H,W; every sample once per epoch; epochs differ
  assert.deepEqual(a![0]!.map((x) => x.shape), [[4, 3, 16, 16], [4, 3, 16, 16], [3, 3, 16, 16]]);
  assert.deepEqual(ids(a![0]!).flat().sort(), refs.map((r) => r.id).sort());
  assert.notDeepEqual(ids(a![0]!), ids(a![1]!));
});

test('each sample is Compose.run of the decoded sample with Rng(seed, epoch, index)', async () => {
  const ds = new SegDataset({ refs });
  const loader = new DataLoader(ds, { batchSize: 3, seed: 5, transform: crop });
  const batches = await collect(loader);
  const epoch1 = await collect(loader);
  const compose = new Compose(crop);
  const check = async (batch: Batch, k: number, index: number, epoch: number) => {
    const want = compose.run(await ds.get(index), Rng.derive(5, epoch, index));
    const n = 3 * 16 * 16;
    assert.deepEqual(batch.images.subarray(k * n, (k + 1) * n), want.image.data);
    assert.deepEqual(Array.from(batch.masks!.subarray(k * 256, (k + 1) * 256)), Array.from(want.sample.mask!.data));
  };
  // no shuffle: batch 1 holds samples 3, 4, 5
  assert.deepEqual(batches[1]!.refs.map((r) => r.id), ['s3', 's4', 's5']);
  await check(batches[1]!, 2, 5, 0);
  await check(epoch1[0]!, 0, 0, 1);
  assert.ok(batches[0]!.masks instanceof Int32Array);
  assert.equal(batches.length, 4);
  await loader.close();

  // the same with a pipeline whose last step writes into the batch directly, on workers
  const direct = new DataLoader(ds, { batchSize: 4, seed: 2, shuffle: true, transform: fused, numWorkers: 2 });
  const t = new Compose(fused);
  const [first] = await collect(direct);
  const n = 3 * 18 * 18;
  for (let k = 0; k < 4; k++) {
    const index = Number(first!.refs[k]!.id.slice(1));
    const want = t.run(await ds.get(index), Rng.derive(2, 0, index));
    assert.deepEqual(first!.images.subarray(k * n, (k + 1) * n), want.image.data, `sample ${index}`);
    assert.deepEqual(Array.from(first!.masks!.subarray(k * 324, (k + 1) * 324)), Array.from(want.sample.mask!.data));
  }
  await direct.close();
});

test('dropLast, length and an unshuffled order', async () => {
  const ds = new SegDataset({ refs });
  const loader = new DataLoader(ds, { batchSize: 4, dropLast: true, transform: crop });
  assert.equal(loader.length, 2);
  const bs = await collect(loader);
  assert.deepEqual(ids(bs), [['s0', 's1', 's2', 's3'], ['s4', 's5', 's6', 's7']]);
  await loader.close();
});

test('a resumed loader sees exactly the remaining batches', async () => {
  const ds = new SegDataset({ refs });
  const opts = { batchSize: 2, shuffle: true, seed: 3, transform: crop, numWorkers: 2 } as const;
  const full = new DataLoader(ds, opts);
  const reference = [...(await collect(full)), ...(await collect(full))];
  await full.close();

  const first = new DataLoader(ds, opts);
  await collect(first); // epoch 0
  let taken = 0;
  for await (const b of first) {
    void b;
    if (++taken === 2) break; // stop inside epoch 1 after two batches
  }
  const saved = JSON.parse(JSON.stringify(first.state()));
  assert.deepEqual([saved.epoch, saved.position], [1, 2]);
  await first.close();

  const resumed = new DataLoader(ds, opts);
  resumed.loadState(saved);
  const rest = await collect(resumed);
  assert.equal(rest.length, 6 - 2);
  for (let k = 0; k < rest.length; k++) {
    assert.deepEqual(rest[k]!.refs, reference[6 + 2 + k]!.refs);
    assert.deepEqual(rest[k]!.images, reference[6 + 2 + k]!.images);
  }
  assert.deepEqual(resumed.state().epoch, 2);
  assert.throws(() => resumed.loadState({ ...saved, seed: 4 }), /seed 4 but this loader has 3/);
  await resumed.close();
});

test('breaking out of a loop continues from the next batch', async () => {
  const ds = new SegDataset({ refs });
  const loader = new DataLoader(ds, { batchSize: 5, transform: crop, numWorkers: 1 });
  for await (const b of loader) {
    assert.equal(b.refs[0]!.id, 's0');
    break;
  }
  const rest = await collect(loader);
  assert.deepEqual(rest.map((b) => b.refs[0]!.id), ['s5', 's10']);
  await loader.close();
});

test('recycle: same batches from a bounded set of reused buffers', async () => {
  const ds = new SegDataset({ refs });
  for (const transform of [crop, fused]) {
    const plain = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 9, transform });
    const want = [...(await collect(plain)), ...(await collect(plain))].map((b) => [b.images.slice(), b.masks!.slice()] as const);
    await plain.close();
    for (const numWorkers of [0, 2]) {
      const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 9, transform, numWorkers, recycle: true });
      const buffers = new Set<ArrayBufferLike>();
      let k = 0;
      let previous: readonly [Float32Array, Int32Array] | undefined;
      for (let epoch = 0; epoch < 2; epoch++) {
        for await (const b of loader) {
          assert.deepEqual(b.images, want[k]![0], `numWorkers ${numWorkers}, batch ${k}`);
          assert.deepEqual(b.masks, want[k]![1]);
          if (previous) {
            assert.deepEqual(previous[0], want[k - 1]![0], 'the previous batch is still intact');
            assert.deepEqual(previous[1], want[k - 1]![1]);
          }
          previous = [b.images, b.masks!];
          buffers.add(b.images.buffer);
          k++;
        }
      }
      assert.equal(k, 12);
      // at most (batches in flight) + (2 held by the consumer) buffers, not one per batch
      assert.ok(buffers.size <= (numWorkers > 0 ? numWorkers * 2 : 2) + 2, `${buffers.size} image buffers for 12 batches`);
      if (numWorkers > 0) assert.ok([...buffers].every((x) => x instanceof SharedArrayBuffer));
      await loader.close();
    }
  }
});

test('recycle: breaking out and resuming keeps batches right', async () => {
  const ds = new SegDataset({ refs });
  const plain = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 4, transform: fused });
  const want = (await collect(plain)).map((b) => b.images.slice());
  await plain.close();
  const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 4, transform: fused, numWorkers: 2, prefetch: 3, recycle: true });
  const got: Float32Array[] = [];
  for await (const b of loader) {
    got.push(b.images.slice());
    if (got.length === 2) break; // cancels the batches in flight; their slots are reused
  }
  for await (const b of loader) got.push(b.images.slice());
  assert.equal(got.length, want.length);
  for (let k = 0; k < want.length; k++) assert.deepEqual(got[k], want[k], `batch ${k}`);
  await loader.close();
});

test('samples of different sizes in one batch: the error names the sample and the fix', async () => {
  const ds = new SegDataset({ refs });
  for (const numWorkers of [0, 1]) {
    const loader = new DataLoader(ds, { batchSize: 4, numWorkers });
    await assert.rejects(collect(loader), (e: Error) => {
      assert.match(e.message, /sample "s1" \(#1, .*s-1\.png/);
      assert.match(e.message, /3x22x24 \(CxHxW\) after transforms but sample "s0".* is 3x16x20/);
      assert.match(e.message, /randomCrop/);
      return true;
    });
    await loader.close();
  }
});

test('a failing file is reported with its name, from a worker too', async () => {
  const bad: SampleRef = { id: 'broken', imagePath: join(dir, 'broken.png'), maskPath: join(dir, 'none.png') };
  writeFileSync(bad.imagePath, 'this is not a png');
  const ds = new SegDataset({ refs: [...refs.slice(0, 3), bad] });
  for (const numWorkers of [0, 2]) {
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers, transform: crop });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const b of loader) seen.push(...b.refs.map((r) => r.id));
      })(),
      (e: Error) => {
        assert.match(e.message, /sample "broken" \(#3, .*broken\.png/);
        if (numWorkers > 0) assert.match(e.message, /\[worker \d\]/);
        return true;
      },
    );
    assert.deepEqual(seen, ['s0', 's1'], 'batches before the bad one are delivered');
    await loader.close();
  }
  // under onBadFile 'skip' the sample is left out of its batch and counted
  const skipping = new SegDataset({ refs: [...refs.slice(0, 3), bad], onBadFile: 'skip' } as DatasetSpec);
  const loader = new DataLoader(skipping, { batchSize: 2, numWorkers: 1, transform: crop });
  const bs = await collect(loader);
  assert.deepEqual(ids(bs), [['s0', 's1'], ['s2']]);
  assert.deepEqual(loader.skipped.map((s) => s.ref.id), ['broken']);
  await loader.close();
});

test('a custom sample module; worker crashes reject the loop; close() ends everything', async () => {
  // Synthetic samples from a data: URL module (no files): 8x8 image whose value is the index.
  const src = `export async function loadSample(ref) {
    const i = Number(ref.id);
    if (i === 5) throw new Error('cannot read ' + ref.imagePath);
    return { ref, image: { data: new Uint8Array(8 * 8 * 3).fill(i), width: 8, height: 8, channels: 3 } };
  }`;
  const sampleModule = `data:text/javascript,${encodeURIComponent(src)}`;
  const mem: SampleRef[] = Array.from({ length: 8 }, (_, i) => ({ id: String(i), imagePath: `/virtual/${i}.raw` }));
  const ds: LoaderDataset = {
    length: mem.length,
    get: async (i) => ({ ref: mem[i]!, image: { data: new Uint8Array(192).fill(i), width: 8, height: 8, channels: 3 } }),
    toSpec: () => ({ refs: mem }),
  };
  const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 2, sampleModule });
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of loader) {
        assert.equal(b.masks, undefined);
        seen.push(Math.round(b.images[0]! * 255));
      }
    })(),
    /sample "5" \(#5, \/virtual\/5\.raw\): cannot read \/virtual\/5\.raw/,
  );
  assert.deepEqual(seen, [0, 2]);
  await loader.close();
  assert.equal(loader.workerCount, 0);
  await assert.rejects(collect(loader), /after close/);

  const missing = new DataLoader(ds, { batchSize: 2, numWorkers: 1, sampleModule: 'data:text/javascript,export const x = 1;' });
  await assert.rejects(collect(missing), /worker 0 crashed: .*exports no loadSample/);
  await missing.close();
});

test('instances travel as lists; in-memory datasets work without workers', async () => {
  const mk = (i: number): Sample => {
    const m = new Uint8Array(12 * 10);
    m[3 * 12 + 4] = 1;
    return {
      ref: { id: `m${i}`, imagePath: `/mem/${i}` },
      image: { data: new Uint8Array(12 * 10 * 3).fill(i), width: 12, height: 10, channels: 3 },
      instances: [{ label: i, box: [4, 3, 5, 4], mask: m }],
    };
  };
  const ds: LoaderDataset = { length: 3, get: async (i) => mk(i) };
  const loader = new DataLoader(ds, { batchSize: 3, transform: [{ name: 'horizontalFlip', p: 1 }] });
  assert.throws(() => new DataLoader(ds, { numWorkers: 1 }), /needs a dataset with toSpec/);
  const [b] = await collect(loader);
  assert.deepEqual(b!.instances!.map((l) => l.map((x) => [x.label, x.box])), [[[0, [7, 3, 8, 4]]], [[1, [7, 3, 8, 4]]], [[2, [7, 3, 8, 4]]]]);
  assert.equal(b!.instances![0]![0]!.mask![3 * 12 + 7], 1);
  await loader.close();
});
