import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classWeights, computeStats, formatStats, StatsAccumulator, writeStatsJson, type SampleSource } from '../../src/data/stats.js';
import type { Sample } from '../../src/data/types.js';

// Three tiny samples; every expected number below is worked out by hand (weights, counts) or
// with numpy on the same pixel lists (mean/std), see the comments.
const samples: Sample[] = [
  {
    ref: { id: 's1', imagePath: 's1.png', maskPath: 's1_mask.png' },
    image: { data: Uint8Array.from([0, 0, 0, 255, 255, 255, 10, 20, 30, 100, 50, 200]), width: 2, height: 2, channels: 3 },
    mask: { data: Uint8Array.from([0, 1, 1, 255]), width: 2, height: 2 },
  },
  {
    ref: { id: 's2', imagePath: 's2.png', maskPath: 's2_mask.png' },
    image: { data: Uint8Array.from([0, 128, 64, 255]), width: 2, height: 2, channels: 1 }, // grey
    mask: { data: Uint8Array.from([0, 0, 2, 0]), width: 2, height: 2 },
  },
  {
    ref: { id: 's3', imagePath: 's3.png', maskPath: 's3_mask.png' },
    image: { data: Uint8Array.from([1, 2, 3, 9, 4, 5, 6, 9]), width: 2, height: 1, channels: 4 }, // alpha ignored
    mask: { data: Uint16Array.from([1, 255]), width: 2, height: 1 },
  },
];
const source: SampleSource = { length: samples.length, get: async (i) => samples[i] };
const close = (a: number[], b: number[], tol = 1e-12): void => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `[${i}] ${x} vs ${b[i]}`));
};

test('class pixels, image presence and ignore handling on hand-counted masks', async () => {
  const { stats, presence } = await computeStats(source, { numClasses: 4, classNames: ['bg', 'road', 'car', 'bike'] });
  assert.equal(stats.images, 3);
  assert.equal(stats.masks, 3);
  assert.deepEqual(stats.classPixels, [4, 3, 1, 0]); // class 0: 1 + 3; class 1: 2 + 1; class 2: 1
  assert.deepEqual(stats.classImages, [2, 2, 1, 0]);
  assert.equal(stats.labelledPixels, 8);
  assert.equal(stats.ignoredPixels, 2);
  assert.deepEqual(stats.classImagePixels, [7, 4, 4, 0]); // labelled pixels of images holding c: 3+4, 3+1, 4
  assert.deepEqual(stats.absent, [3]);
  assert.deepEqual(presence.map((p) => [p.ref.id, p.classes]), [['s1', [0, 1]], ['s2', [0, 2]], ['s3', [1]]]);
});

test('mean/std per channel on the 0-1 scale (numpy reference, grey replicated, alpha dropped)', async () => {
  const { stats } = await computeStats(source);
  assert.equal(stats.channels, 3);
  // numpy: np.array(R)/255 .mean(), .std() over the 10 pixels of the three images.
  close(stats.mean, [0.32039215686274514, 0.30549019607843136, 0.36901960784313725]);
  close(stats.std, [0.380004047004897, 0.3777244234888202, 0.3978544920537739]);
  // Same result whatever order the images arrive in (grey first here).
  const acc = new StatsAccumulator();
  for (const i of [1, 2, 0]) acc.addImage(samples[i].image);
  close(acc.finish().mean, stats.mean);
  close(acc.finish().std, stats.std);
});

test('class weights: inverse, max/count, median frequency, ENet', async () => {
  const { stats } = await computeStats(source, { numClasses: 4 });
  const w = stats.weights;
  close(w.inverse, [8 / 12, 8 / 9, 8 / 3, 0]); // N/(K n_c), N=8, K=3
  close(w.maxOverCount, [1, 4 / 3, 4, 0]);
  // freq = 4/7, 3/4, 1/4; median 4/7; w = median/freq.
  close(w.medianFrequency, [1, 16 / 21, 16 / 7, 0]);
  // 1/ln(1.02 + p), p = 4/8, 3/8, 1/8 (computed with Python's math.log).
  close(w.enet, [2.388285926447683, 3.003955470922911, 7.3852714508897455, 0]);
  // Even number of present classes: the median is the mean of the middle two.
  close(classWeights([10, 20], [100, 100]).medianFrequency, [1.5, 0.75]); // freq .1 .2, median .15
});

test('an id at or above numClasses is an error naming the mask and the value', async () => {
  const bad: SampleSource = {
    length: 1,
    get: async () => ({ ...samples[0], mask: { data: Uint8Array.from([0, 7, 7, 1]), width: 2, height: 2 } }),
  };
  await assert.rejects(computeStats(bad, { numClasses: 4 }), /s1_mask\.png: value 7 \(2 pixels\)/);
  // Without numClasses the class count grows to the largest id seen.
  const { stats } = await computeStats(bad);
  assert.equal(stats.numClasses, 8);
});

test('table and JSON output', async () => {
  const { stats } = await computeStats(source, { numClasses: 4, classNames: ['bg', 'road', 'car', 'bike'] });
  const table = formatStats(stats);
  assert.match(table, /road\s+3\s+37\.50\s+2\s+0\.8889\s+1\.3333\s+0\.7619\s+3\.0040/);
  assert.match(table, /classes with no pixel: 3/);
  const dir = mkdtempSync(join(tmpdir(), 'segkit-stats-'));
  try {
    writeStatsJson(join(dir, 'stats.json'), stats);
    const back = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    assert.deepEqual(back.classPixels, [4, 3, 1, 0]);
    assert.deepEqual(back.weights.maxOverCount, stats.weights.maxOverCount);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
