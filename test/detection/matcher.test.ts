// Matcher and BalancedPositiveNegativeSampler against torchvision 0.14 (gen_matcher.py): matches on
// quality matrices with ties (within a ground truth's row and a prediction's column), random-box
// IoUs, all below the low threshold and a single ground truth, with and without low-quality
// matches; samples drawn after the same manual seed equal torchvision's index for index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaksEachTest } from '../leak.js';
import { fromRaw, manualSeed, tidy, tensor, zeros, type Tensor } from '../../src/torch/index.js';
import { Matcher, BalancedPositiveNegativeSampler } from '../../src/detection/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { fixture } from '../paths.js';

checkLeaksEachTest();

const file = readSafetensors(fixture('detection', 'matcher.safetensors'));
const load = (key: string): Tensor => {
  const raw = file.tensors.get(key);
  assert.ok(raw, `matcher fixture has no '${key}' (regenerate it with gen_matcher.py)`);
  return fromRaw(raw);
};

interface MatcherCase { name: string; quality: string; high: number; low: number; allowLowQualityMatches: boolean }
interface SamplerCase { name: string; batch: number; fraction: number; seed: number; images: number }
const matcherCases = JSON.parse(file.metadata.matcher_cases) as MatcherCase[];
const samplerCases = JSON.parse(file.metadata.sampler_cases) as SamplerCase[];

for (const c of matcherCases) {
  test(`Matcher ${c.name}: matches equal torchvision's`, () => {
    tidy(() => {
      const matches = new Matcher(c.high, c.low, c.allowLowQualityMatches).match(load(`matcher/${c.quality}/quality`));
      assert.equal(matches.dtype, 'int64');
      assert.deepEqual(matches.toArray(), load(`matcher/${c.name}`).toArray());
    });
  });
}

test('Matcher: a low-quality best shared by two predictions matches both; strict mode leaves them negative', () => {
  tidy(() => {
    // gt 0's best (0.4) is shared by predictions 1 and 2; prediction 3 is gt 1's best and between thresholds
    const q = tensor([[0.1, 0.4, 0.4, 0.0], [0.0, 0.2, 0.3, 0.5]]);
    assert.deepEqual(new Matcher(0.7, 0.3, true).match(q).toArray(), [-1, 0, 0, 1]);
    assert.deepEqual(new Matcher(0.7, 0.3, false).match(q).toArray(), [-1, -2, -2, -2]);
    assert.equal(Matcher.BELOW_LOW_THRESHOLD, -1);
    assert.equal(Matcher.BETWEEN_THRESHOLDS, -2);
  });
});

test('Matcher: no ground truth or no predictions is an error that says what to do; thresholds are checked', () => {
  tidy(() => {
    const m = new Matcher(0.7, 0.3, true);
    assert.throws(() => m.match(zeros([0, 5])), /no ground-truth boxes.*label all its predictions background/);
    assert.throws(() => m.match(zeros([2, 0])), /no predicted boxes/);
    assert.throws(() => m.match(zeros([5])), /must be \(ground truth, predictions\), got shape \[5\]/);
  });
  assert.throws(() => new Matcher(0.3, 0.7), /lowThreshold \(0.7\) must be <= highThreshold \(0.3\)/);
});

for (const c of samplerCases) {
  test(`BalancedPositiveNegativeSampler ${c.name} (${c.batch}, ${c.fraction}): the same seed samples torchvision's elements`, () => {
    tidy(() => {
      const labels = Array.from({ length: c.images }, (_, i) => load(`sampler/${c.name}/labels${i}`));
      manualSeed(c.seed);
      const { positive, negative } = new BalancedPositiveNegativeSampler(c.batch, c.fraction).sample(labels);
      assert.equal(positive.length, c.images);
      for (let i = 0; i < c.images; i++) {
        for (const [kind, masks] of [['pos', positive], ['neg', negative]] as const) {
          assert.equal(masks[i].dtype, 'uint8');
          assert.deepEqual(masks[i].shape, labels[i].shape);
          const picked = masks[i].toArray().flatMap((v, j) => (v === 1 ? [j] : []));
          assert.deepEqual(picked, load(`sampler/${c.name}/${kind}${i}`).toArray(), `image ${i}: ${kind} samples`);
        }
      }
    });
  });
}

test('BalancedPositiveNegativeSampler: bad sizes are errors that name the value', () => {
  assert.throws(() => new BalancedPositiveNegativeSampler(0, 0.5), /batchSizePerImage must be a positive integer, got 0/);
  assert.throws(() => new BalancedPositiveNegativeSampler(256, 1.5), /positiveFraction must be in \[0, 1\], got 1.5/);
});
