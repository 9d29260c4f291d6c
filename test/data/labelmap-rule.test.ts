// One label-map rule (explicit, else labelmap.json beside the data) for openDataset, dataset
// configs and the CLI inputs, and its ignore index used downstream: loader padding, transform
// fill, preview, stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../../src/data/sources/index.js';
import { openInput } from '../../src/data/doctor/input.js';
import { SegDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { computeStats } from '../../src/data/stats.js';
import { renderPreview } from '../../src/data/preview.js';
import { pairs, S, stripes, tempDir } from './synth.js';

const GRAY = { classes: ['bg', 'a', 'b', 'c'], values: { '0': 0, '74': 1, '128': 2, '145': 3 } };

test('openDataset, a YAML config and the CLI input all read labelmap.json beside the data', async () => {
  const { dir, done } = tempDir();
  try {
    const root = join(dir, 'data');
    await pairs(root, 'images', 'masks', 2, (k) => stripes([0, 74, 128, 145], k));
    writeFileSync(join(root, 'labelmap.json'), JSON.stringify(GRAY));
    // API
    const ds = await openDataset({ source: { type: 'folders', root: 'data' } }, dir);
    assert.deepEqual(ds.classes, GRAY.classes);
    assert.equal(ds.spec.labelMapFile, join(root, 'labelmap.json'));
    const s = await ds.get(0);
    assert.deepEqual([...new Set(s.mask!.data)].sort(), [0, 1, 2, 3]); // 74 → 1, not a raw 74
    // YAML config read by the CLI (no labelMap in it)
    writeFileSync(join(dir, 'dataset.yaml'), 'source:\n  type: folders\n  root: data\n');
    const viaConfig = await openInput(join(dir, 'dataset.yaml'));
    assert.deepEqual(viaConfig.spec.labelMap, GRAY);
    // CLI folder input
    const viaFolder = await openInput(root);
    assert.deepEqual(viaFolder.spec.labelMap, GRAY);
    // An explicit label map wins: a file path relative to the config, and --label-map.
    mkdirSync(join(dir, 'maps'));
    const other = { ...GRAY, classes: ['w', 'x', 'y', 'z'] };
    writeFileSync(join(dir, 'maps', 'other.json'), JSON.stringify(other));
    const explicit = await openDataset({ source: { type: 'folders', root: 'data', labelMap: 'maps/other.json' } }, dir);
    assert.deepEqual(explicit.classes, other.classes);
    const cli = await openInput(join(dir, 'dataset.yaml'), { labelMap: join(dir, 'maps', 'other.json') });
    assert.deepEqual(cli.spec.labelMap?.classes, other.classes);
    // CSV index: labelmap.json beside the CSV.
    writeFileSync(join(root, 'index.csv'), 'image,label\nimages/s0.png,masks/s0.png\n');
    const csv = await openDataset({ source: { type: 'csv', file: 'data/index.csv' } }, dir);
    assert.deepEqual(csv.classes, GRAY.classes);
  } finally {
    done();
  }
});

test("the loader pads masks with the label map's ignore index (11), not 255", async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 2, () => stripes([0, 1]));
    writeFileSync(join(dir, 'labelmap.json'), JSON.stringify({ classes: ['a', 'b'], ignoreIndex: 11 }));
    const ds = await openDataset({ source: { type: 'folders', root: dir } });
    assert.equal(ds.ignoreIndex, 11); // what a loss takes: F.crossEntropy(out, masks, { ignoreIndex: ds.ignoreIndex })
    const loader = new DataLoader(ds, { batchSize: 2, transform: [{ name: 'pad', size: [S + 4, S + 4] }] });
    assert.equal(loader.ignoreIndex, 11);
    for await (const b of loader) {
      const values = new Set(b.masks);
      assert.ok(values.has(11), 'padding is the ignore index');
      assert.ok(!values.has(255), 'no 255 in the batch');
    }
    await loader.close();
    // Preview transforms fill with it too (nothing drawn there), and stats count it as ignored.
    const r = await renderPreview(ds, { n: 1, transform: [{ name: 'pad', size: [S + 4, S + 4] }], legend: true });
    assert.deepEqual(r.legend.map((e) => e.id), [0, 1]);
    const { stats } = await computeStats(ds);
    assert.equal(stats.ignoreIndex, 11);
    assert.deepEqual(stats.classNames, ['a', 'b']);
  } finally {
    done();
  }
});

test('SegDataset without a label map keeps 255 as the loader default', () => {
  const loader = new DataLoader(new SegDataset({ refs: [] }));
  assert.equal(loader.ignoreIndex, 255);
});

test('openDataset takes a path as the CLI does: a folder, a config file, a CSV index', async () => {
  const { dir, done } = tempDir();
  try {
    const root = join(dir, 'pets');
    await pairs(root, 'images', 'annotations/trimaps', 2, (k) => stripes([1, 2, 3], k));
    writeFileSync(join(root, 'labelmap.json'), JSON.stringify({ classes: ['background', 'pet'], binary: 'trimap' }));
    const folder = await openDataset(root);
    assert.deepEqual([folder.length, folder.classes], [2, ['background', 'pet']]);
    writeFileSync(join(dir, 'pets.yaml'), 'dataset:\n  source:\n    type: folders\n    root: pets\n    images: images\n    masks: annotations/trimaps\n  onBadFile: skip\n');
    const config = await openDataset(join(dir, 'pets.yaml'));
    assert.deepEqual([config.length, config.spec.onBadFile, config.classes], [2, 'skip', ['background', 'pet']]);
    writeFileSync(join(root, 'index.csv'), 'image,mask\nimages/s0.png,annotations/trimaps/s0.png\n');
    const csv = await openDataset('pets/index.csv', dir);
    assert.deepEqual([csv.length, csv.classes], [1, ['background', 'pet']]);
    await assert.rejects(openDataset(join(dir, 'nope')), /does not exist; give a dataset folder/);
  } finally {
    done();
  }
});
