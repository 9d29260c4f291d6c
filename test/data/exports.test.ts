// The public 'segkit/data' surface: what users need, not the internals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as data from '../../src/data/index.js';

test("'segkit/data' exports the user-facing names and leaves the internals out", () => {
  const names = Object.keys(data);
  for (const n of ['openDataset', 'SegDataset', 'LabelMap', 'detectEncoding', 'DataLoader', 'T', 'defineTransforms', 'runDoctor', 'groupedSplit', 'writePreview', 'computeStats']) {
    assert.ok(names.includes(n), `${n} missing`);
  }
  for (const n of ['assembleBatch', 'startLoads', 'resamplePlane', 'makeOp', 'settingsOf', 'forEachLimit', 'fitTile', 'compiledLabelMap', 'mulberry32']) {
    assert.ok(!names.includes(n), `${n} is an internal`);
  }
  assert.ok(names.length <= 70, `${names.length} exports`);
});
