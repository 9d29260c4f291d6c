// Transform steps type-check without `as const`: this file compiling is half the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Compose, T, defineTransforms, type StepConfig } from '../../src/data/transforms/index.js';
import { DataLoader } from '../../src/data/loader.js';
import { SegDataset } from '../../src/data/dataset.js';

test('T builders and defineTransforms give step configs a Compose and a DataLoader accept', () => {
  const train = [T.randomScale({ range: [0.5, 2], shortSide: 32 }), T.randomCrop({ size: [32, 32] }), T.horizontalFlip(), T.normalize()];
  const kept = defineTransforms([{ name: 'pad', size: [40, 40] }, { name: 'centerCrop', size: 32 }]);
  const typed: StepConfig[] = train; // no `as const` anywhere
  assert.deepEqual(train[1], { name: 'randomCrop', size: [32, 32] });
  assert.deepEqual(T.horizontalFlip({ p: 1 }), { name: 'horizontalFlip', p: 1 });
  assert.equal(new Compose(typed).steps.length, 4);
  assert.equal(new Compose(kept).steps.length, 2);
  const loader = new DataLoader(new SegDataset({ refs: [] }), { transform: train });
  assert.equal(loader.compose.steps.length, 4);
});
