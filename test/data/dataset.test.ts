import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fixture, repoRoot } from '../paths.js';
import { BadFileError, loadSample, SegDataset, tryLoadSample, type DatasetSpec } from '../../src/data/dataset.js';
import { folderSource } from '../../src/data/sources/folders.js';
import { join } from 'node:path';

const f = (...p: string[]) => fixture('data', ...p);
const expected = JSON.parse(readFileSync(f('expected.json'), 'utf8')) as Record<string, number[][]>;

test('SegDataset decodes image + mask mapped through the label map', async () => {
  const spec = await folderSource({ root: f('flat') });
  const ds = new SegDataset({ ...spec, labelMap: { classes: ['bg', 'a', 'b'] } });
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.classes, ['bg', 'a', 'b']);
  const s = await ds.get(1);
  assert.equal(s.ref.id, 'b');
  assert.deepEqual([s.image.width, s.image.height, s.image.channels], [8, 6, 3]);
  assert.deepEqual([...s.mask!.data], expected['flat/b'].flat()); // values 0, 1, 2, 255 are ids already
  assert.throws(() => ds.ref(3), /sample index 3 out of range \(dataset has 3 samples\)/);
  // A label map that does not cover value 2 names the mask file.
  const strict = new SegDataset({ ...spec, labelMap: { classes: ['bg', 'a'] } });
  await assert.rejects(strict.get(1), /flat\/masks\/b\.png: mask value 2 \(\d+ pixels\) not covered/);
});

test('the spec is JSON: a worker thread rebuilds the dataset and decodes the same sample', async () => {
  const spec: DatasetSpec = { ...(await folderSource({ root: f('flat') })), labelMap: { classes: ['bg', 'a', 'b'] }, maxPixels: 1000 };
  const ds = new SegDataset(spec);
  const json = JSON.parse(JSON.stringify(ds.toSpec())) as DatasetSpec;
  assert.deepEqual(json, spec);
  const url = pathToFileURL(join(repoRoot, 'dist', 'src', 'data', 'dataset.js')).href;
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then(async ({ SegDataset }) => {
      const s = await new SegDataset(workerData).get(2);
      parentPort.postMessage({ image: s.image.data, mask: s.mask.data });
    });`;
  const fromWorker = await new Promise<{ image: Uint8Array; mask: Uint8Array }>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: json });
    w.once('message', (m) => (resolve(m), void w.terminate()));
    w.once('error', reject);
  });
  const here = await ds.get(2);
  assert.deepEqual(fromWorker.image, here.image.data);
  assert.deepEqual(fromWorker.mask, here.mask!.data);
});

test('colour masks with maskMode rgb; colours map through the palette or `colors`', async () => {
  const ref = { id: 'c', imagePath: f('formats', 'image.png'), maskPath: f('formats', 'color_mask.png') };
  // Default: palette colour i ↔ train id i (VOC colours here).
  const s = await loadSample(ref, { refs: [ref], maskMode: 'rgb', labelMap: { classes: ['bg', 'plane', 'bike'] } });
  assert.deepEqual([...s.mask!.data], expected['formats/color_mask'].flat());
  // `colors` switches maskMode to rgb on its own.
  const s2 = await loadSample(ref, { refs: [ref], labelMap: { classes: ['bg', 'x'], colors: [{ color: [0, 0, 0], id: 0 }, { color: '#800000', id: 1 }, { color: '#008000', id: 1 }] } });
  assert.deepEqual([...s2.mask!.data], expected['formats/color_mask'].flat().map((v) => (v ? 1 : 0)));
  // Read as ids, the same colour mask is refused with the fix.
  await assert.rejects(loadSample(ref, { refs: [ref] }), /color_mask\.png: this mask is a colour image.*maskMode 'rgb'/);
});

test('VOC palette PNG masks give class indices with 255 kept as ignore', async () => {
  const ref = { id: 'p', imagePath: f('formats', 'image.png'), maskPath: f('formats', 'palette.png') };
  const classes = Array.from({ length: 21 }, (_, i) => `c${i}`);
  const s = await loadSample(ref, { refs: [ref], labelMap: { classes } });
  assert.deepEqual([...s.mask!.data], expected['formats/palette'].flat());
});

test('mask/image size mismatch is a BadFileError naming both files', async () => {
  const ref = { id: 'x', imagePath: f('bad', 'pair_image.png'), maskPath: f('bad', 'pair_mask.png') };
  await assert.rejects(loadSample(ref, { refs: [ref] }), (e: Error) =>
    e instanceof BadFileError && /pair_mask\.png: mask is 8x5 but its image .*pair_image\.png is 8x6/.test(e.message) && /never bilinear/.test(e.message));
});

test("onBadFile 'skip' skips and counts bad files; 'fail' throws; config errors always throw", async () => {
  const good = { id: 'ok', imagePath: f('formats', 'image.png') };
  const refs = [good, { id: 'e', imagePath: f('bad', 'empty.png') }, { id: 't', imagePath: f('bad', 'truncated.jpg') }, { id: 'm', imagePath: f('bad', 'misnamed.png') }];
  const ds = new SegDataset({ refs, onBadFile: 'skip' });
  const got = [];
  for (let i = 0; i < ds.length; i++) got.push(await ds.tryGet(i));
  assert.deepEqual(got.map((s) => s?.ref.id ?? null), ['ok', null, null, null]);
  assert.equal(ds.skipped.length, 3);
  assert.match(ds.skipped[0].reason, /empty\.png: empty file/);
  await assert.rejects(ds.get(1), BadFileError); // get() always throws
  const failing = new SegDataset({ refs });
  await assert.rejects(failing.tryGet(2), /truncated\.jpg/);
  assert.equal(await tryLoadSample(refs[3], { refs, onBadFile: 'skip' }), null);
  // An uncovered mask value is a configuration error, never skipped.
  const ref = { id: 'b', imagePath: f('flat', 'images', 'b.png'), maskPath: f('flat', 'masks', 'b.png') };
  await assert.rejects(tryLoadSample(ref, { refs: [ref], onBadFile: 'skip', labelMap: { classes: ['bg'] } }), /not covered by the label map/);
});

test('maxPixels in the spec refuses large images before decoding', async () => {
  const ref = { id: 'i', imagePath: f('formats', 'image.jpg') };
  await assert.rejects(loadSample(ref, { refs: [ref], maxPixels: 40 }), /above the limit of 40/);
});

test('subset keeps settings and picks refs', async () => {
  const spec = await folderSource({ root: f('flat') });
  const ds = new SegDataset({ ...spec, labelMap: { classes: ['bg', 'a', 'b'] } });
  const sub = ds.subset([2, 0]);
  assert.deepEqual([sub.ref(0).id, sub.ref(1).id], ['c', 'a']);
  assert.deepEqual(sub.classes, ['bg', 'a', 'b']);
});
