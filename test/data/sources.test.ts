// Folder pairs, CSV/TSV indexes, merging and dataset configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../paths.js';
import { folderSource } from '../../src/data/sources/folders.js';
import { csvSource, parseDelimited } from '../../src/data/sources/csv.js';
import { mergeSources } from '../../src/data/sources/merge.js';
import { cocoSource } from '../../src/data/sources/coco.js';
import { openDataset } from '../../src/data/sources/index.js';
import { loadSample } from '../../src/data/dataset.js';

const f = (...p: string[]) => fixture('data', ...p);

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'segkit-src-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('flat folders pair images/ and masks/ by stem across extensions; non-images ignored', async () => {
  const spec = await folderSource({ root: f('flat') });
  assert.deepEqual(spec.refs, [
    { id: 'a', imagePath: f('flat', 'images', 'a.jpg'), maskPath: f('flat', 'masks', 'a.png') },
    { id: 'b', imagePath: f('flat', 'images', 'b.png'), maskPath: f('flat', 'masks', 'b.png') },
    { id: 'c', imagePath: f('flat', 'images', 'c.webp'), maskPath: f('flat', 'masks', 'c.png') },
  ]);
  // Image-only (prediction) datasets.
  const imgs = await folderSource({ root: f('flat'), masks: null });
  assert.deepEqual(imgs.refs.map((r) => [r.id, r.maskPath]), [['a', undefined], ['b', undefined], ['c', undefined]]);
});

test('split folders (train/image + train/label, val/...) tag refs with meta.split', async () => {
  const all = await folderSource({ root: f('split'), splits: true });
  assert.deepEqual(all.refs.map((r) => [r.id, r.meta?.split]), [['train/x1', 'train'], ['train/x2', 'train'], ['val/y1', 'val']]);
  assert.ok(all.refs[0].maskPath!.endsWith(join('split', 'train', 'label', 'x1.png')));
  const val = await folderSource({ root: f('split'), splits: ['val'] });
  assert.deepEqual(val.refs.map((r) => r.id), ['val/y1']);
});

test('Cityscapes suffix rules pair _leftImg8bit with _gtFine_labelIds and skip the other gtFine files', async () => {
  const spec = await folderSource({
    root: f('cityscapes'), images: 'leftImg8bit/train', masks: 'gtFine/train',
    imageSuffix: '_leftImg8bit.png', maskSuffix: '_gtFine_labelIds.png',
  });
  assert.deepEqual(spec.refs.map((r) => r.id), ['aachen/aachen_000000_000019', 'bochum/bochum_000000_000313']);
  assert.ok(spec.refs[0].maskPath!.endsWith('aachen_000000_000019_gtFine_labelIds.png'));
  // Mapped with a Cityscapes-style values table (raw labelIds → train ids).
  const s = await loadSample(spec.refs[0], { ...spec, labelMap: { classes: ['road', 'sidewalk', 'car'], values: { '7': 0, '8': 1, '26': 2, '0': 255 } } });
  const raw = (await import('node:fs')).readFileSync(f('expected.json'), 'utf8');
  const want = (JSON.parse(raw)['cityscapes/aachen'] as number[][]).flat().map((v) => ({ 0: 255, 7: 0, 8: 1, 26: 2 })[v]);
  assert.deepEqual([...s.mask!.data], want);
});

test('unmatched images or masks are an error naming them, or skipped on request', async () => {
  await withTmp(async (dir) => {
    await cp(f('flat'), dir, { recursive: true });
    await copyFile(f('flat', 'images', 'b.png'), join(dir, 'images', 'lonely.png'));
    await copyFile(f('flat', 'masks', 'b.png'), join(dir, 'masks', 'b_typo.png'));
    await assert.rejects(folderSource({ root: dir }), (e: Error) =>
      /1 image\(s\) without a mask.*lonely\.png/.test(e.message) && /1 mask\(s\) without an image.*b_typo\.png/.test(e.message) && /unmatched: 'skip'/.test(e.message));
    const spec = await folderSource({ root: dir, unmatched: 'skip' });
    assert.deepEqual(spec.refs.map((r) => r.id), ['a', 'b', 'c']);
    await copyFile(f('flat', 'images', 'b.png'), join(dir, 'images', 'a.png'));
    await assert.rejects(folderSource({ root: dir, unmatched: 'skip' }), /two images share the stem "a"/);
  });
  await assert.rejects(folderSource({ root: f('formats') }), /no image folder found \(looked for images/);
  await assert.rejects(folderSource({ root: f('nope') }), /does not exist/);
});

test('CSV index: relative paths, quoted fields, empty mask cell, extra columns in meta', async () => {
  const spec = await csvSource({ file: f('csv', 'index.csv') });
  assert.deepEqual(spec.refs, [
    { id: 'img/p', imagePath: f('csv', 'img', 'p.png'), maskPath: f('csv', 'ann', 'p.png'), meta: { split: 'train', note: 'cat, small' } },
    { id: 'img/q', imagePath: f('csv', 'img', 'q.png'), maskPath: f('csv', 'ann', 'q.png'), meta: { split: 'val', note: 'say "hi"' } },
    { id: 'img/r', imagePath: f('csv', 'img', 'r.png'), meta: { split: 'test', note: '' } },
  ]);
});

test('TSV index with configured column names', async () => {
  const spec = await csvSource({ file: f('csv', 'index.tsv'), imageColumn: 'picture', maskColumn: 'label', idColumn: 'name' });
  assert.deepEqual(spec.refs, [
    { id: 'one', imagePath: f('csv', 'img', 'p.png'), maskPath: f('csv', 'ann', 'p.png'), meta: { weight: '0.5' } },
    { id: 'two', imagePath: f('csv', 'img', 'q.png'), maskPath: f('csv', 'ann', 'q.png'), meta: { weight: '2' } },
  ]);
  await assert.rejects(csvSource({ file: f('csv', 'index.tsv') }), /no image column in the header \(name, picture, label, weight\); looked for image, .*`imageColumn` \(CLI: --image-column\)/);
});

test('CSV errors give file and line', async () => {
  await withTmp(async (dir) => {
    await writeFile(join(dir, 'a.csv'), 'image,mask\nx.png,y.png\nz.png\n');
    await assert.rejects(csvSource({ file: join(dir, 'a.csv') }), /a\.csv:3: 1 fields, but the header has 2/);
    await writeFile(join(dir, 'b.csv'), 'image\nx.png\nx.png\n');
    await assert.rejects(csvSource({ file: join(dir, 'b.csv') }), /b\.csv:3: sample id "x" repeats line 2/);
  });
  assert.deepEqual(parseDelimited('a;"b;c"\r\n\r\n1;2', ';'), [['a', 'b;c'], ['1', '2']]);
});

test('merge prefixes ids with the source name and keeps each source\'s label map', async () => {
  const classes = ['bg', 'fg'];
  const csv = { ...(await csvSource({ file: f('csv', 'index.csv') })), labelMap: { classes } };
  const flat = { ...(await folderSource({ root: f('flat') })), labelMap: { classes: ['bg', 'fg'], values: { '0': 0, '1': 1, '2': 1, '255': 255 } } };
  const merged = mergeSources({ pets: csv, web: flat });
  assert.deepEqual(merged.refs.map((r) => r.id), ['pets/img/p', 'pets/img/q', 'pets/img/r', 'web/a', 'web/b', 'web/c']);
  assert.equal(merged.refs[3].meta?.source, 'web');
  assert.equal(merged.refs[0].meta?.split, 'train'); // extra columns survive
  assert.equal(new Set(merged.refs.map((r) => r.id)).size, merged.refs.length);
  // web masks hold 0/1/2/255: only its own label map (2 → 1) accepts them.
  const s = await loadSample(merged.refs[3], merged);
  assert.ok(s.mask!.data.every((v) => v === 0 || v === 1 || v === 255));
  assert.ok(s.mask!.data.includes(1));
  // Nested merges keep unique ids and the inner source's settings.
  const nested = mergeSources({ all: merged, more: csv });
  assert.equal(nested.refs[3].id, 'all/web/a');
  assert.equal(nested.refs[3].meta?.source, 'all/web');
  assert.equal(nested.refs[6].id, 'more/img/p');
  assert.deepEqual(nested.sources?.['all/web'].labelMap, flat.labelMap);
  const coco = await cocoSource({ annotations: f('coco', 'annotations.json') });
  assert.throws(() => mergeSources({ all: merged, coco }), /"coco" has classes \[background, car, cat, dog\] but "all" has \[bg, fg\]/);
  assert.throws(() => mergeSources({ a: csv, b: { ...csv, labelMap: { classes: ['x', 'y'] } } }), /"b" has classes \[x, y\] but "a" has \[bg, fg\]/);
  assert.throws(() => mergeSources({ 'a/b': csv }), /source name "a\/b"/);
});

test('openDataset validates a config (zod) and builds the dataset', async () => {
  const ds = await openDataset({ source: { type: 'folders', root: 'flat', labelMap: { classes: ['a', 'b', 'c'] } }, onBadFile: 'skip' }, f());
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.classes, ['a', 'b', 'c']);
  assert.equal(ds.toSpec().onBadFile, 'skip');
  const merged = await openDataset({ source: { type: 'merge', sources: { x: { type: 'csv', file: 'csv/index.csv' }, y: { type: 'coco', annotations: 'coco/annotations.json' } } } }, f());
  assert.equal(merged.length, 6);
  await assert.rejects(openDataset({ source: { type: 'folders', rot: 'flat' } }, f()), /invalid dataset config:[\s\S]*source/);
  await assert.rejects(openDataset({ source: { type: 'lmdb' } }, f()), /invalid dataset config/);
  await withTmp(async (dir) => {
    const ds2 = await openDataset({ source: { type: 'shapes', dir: 'shapes', count: 3, size: 32 } }, dir);
    assert.equal(ds2.length, 3);
    assert.deepEqual(ds2.classes, ['background', 'circle', 'square', 'triangle']);
  });
});
