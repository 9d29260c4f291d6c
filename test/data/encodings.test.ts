// Mask encodings found from raw values, and the label maps suggested for them: each suggested
// map, applied, gives contiguous train ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { detectEncoding, labelMapJson, scanMasks, VOC_CLASSES } from '../../src/data/encodings.js';
import { LabelMap, parseLabelMap, vocPalette, type RGB } from '../../src/data/labelmap.js';
import { SegDataset } from '../../src/data/dataset.js';
import { computeStats, formatStats } from '../../src/data/stats.js';
import { folderSource } from '../../src/data/sources/folders.js';
import { colourMask, imagePixels, pairs, S, stripes, tempDir, writePalettePng, writePng } from './synth.js';

async function encodingOf(mask: (k: number) => Buffer, write?: (file: string, k: number) => Promise<void>) {
  const { dir, done } = tempDir();
  try {
    if (write) {
      for (let k = 0; k < 3; k++) {
        await writePng(join(dir, 'images', `s${k}.png`), imagePixels(k), 3);
        await write(join(dir, 'masks', `s${k}.png`), k);
      }
    } else await pairs(dir, 'images', 'masks', 3, mask);
    const spec = await folderSource({ root: dir });
    const enc = detectEncoding(await scanMasks(spec.refs));
    // The suggested map is valid and turns every mask into ids 0..K-1 (or ignore).
    const lm = parseLabelMap(JSON.parse(labelMapJson(enc.labelMap!)));
    const ds = new SegDataset({ ...spec, labelMap: lm, ...(lm.colors ? { maskMode: 'rgb' as const } : {}) });
    const { stats } = await computeStats(ds);
    return { enc, lm, stats };
  } finally {
    done();
  }
}

test('gray values 0/74/128/145: 4 classes, a values table, stats list only the 4 classes', async () => {
  const { enc, lm, stats } = await encodingOf((k) => stripes([0, 74, 128, 145], k));
  assert.equal(enc.kind, 'gray-values');
  assert.equal(enc.usableAsIs, false);
  assert.match(enc.summary, /4 gray values 0, 74, 128, 145/);
  assert.match(enc.why!, /Target 74 is out of bounds/);
  assert.deepEqual(lm.values, { '0': 0, '74': 1, '128': 2, '145': 3 });
  assert.deepEqual(stats.classPixels, [48, 48, 48, 48]);
  const table = formatStats(stats);
  assert.equal(table.split('\n').filter((l) => /^\d+\s/.test(l)).length, 4);
  assert.doesNotMatch(table, /no pixel/);
});

test('stats without a label map list only the values that occur (no 201 rows)', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 2, (k) => stripes([0, 74, 128, 145], k));
    const { stats } = await computeStats(new SegDataset(await folderSource({ root: dir })));
    assert.deepEqual(stats.absent, []);
    const rows = formatStats(stats).split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => Number(l.split(/\s+/)[0]));
    assert.deepEqual(rows, [0, 74, 128, 145]);
  } finally {
    done();
  }
});

test('binary 0/255 and 0/1, trimaps 1/2/3', async () => {
  const b255 = await encodingOf((k) => stripes([0, 255], k));
  assert.equal(b255.enc.kind, 'binary-0/255');
  assert.deepEqual(b255.stats.classPixels, [96, 96]); // 255 is foreground here, not ignore
  const b01 = await encodingOf((k) => stripes([0, 1], k));
  assert.equal(b01.enc.kind, 'binary-0/1');
  assert.equal(b01.enc.usableAsIs, true);
  const tri = await encodingOf((k) => stripes([1, 2, 3, 2], k));
  assert.equal(tri.enc.kind, 'trimap');
  assert.match(tri.enc.summary, /1 foreground, 2 background, 3 border/);
  assert.deepEqual(tri.lm.classes, ['background', 'foreground']);
  assert.deepEqual(tri.stats.classPixels, [96, 48]); // 2 → background, 1 → foreground
  assert.equal(tri.stats.ignoredPixels, 48); // 3 → ignore
});

test('contiguous ids with 255 as ignore are usable as they are; evenly spread 0/85/170/255 are 4 classes', async () => {
  const ids = await encodingOf((k) => stripes([0, 1, 2, 255], k));
  assert.equal(ids.enc.kind, 'class-ids');
  assert.equal(ids.enc.usableAsIs, true);
  assert.equal(ids.stats.ignoredPixels, 48);
  const spread = await encodingOf((k) => stripes([0, 85, 170, 255], k));
  assert.equal(spread.enc.kind, 'gray-values');
  assert.deepEqual(spread.lm.values, { '0': 0, '85': 1, '170': 2, '255': 3 });
});

test('palette PNGs with the VOC colours: indices are the ids, VOC class names, 255 ignore', async () => {
  const voc = vocPalette(256);
  const { enc, lm, stats } = await encodingOf(() => Buffer.alloc(0), (file, k) => writePalettePng(file, stripes([0, 15, 255, 1], k), voc));
  assert.equal(enc.kind, 'palette');
  assert.equal(enc.usableAsIs, true);
  assert.match(enc.summary, /VOC colours/);
  assert.deepEqual(lm.classes, VOC_CLASSES.slice(0, 16));
  assert.equal(stats.classPixels[15], 48);
  assert.equal(stats.ignoredPixels, 48);
});

test('non-VOC palette PNG: classes renumbered, palette colours kept for display', async () => {
  const pal: RGB[] = Array.from({ length: 256 }, (_, i) => [i, 255 - i, 7]);
  const { enc, lm, stats } = await encodingOf(() => Buffer.alloc(0), (file, k) => writePalettePng(file, stripes([0, 3, 9], k), pal));
  assert.equal(enc.kind, 'palette');
  assert.deepEqual(lm.values, { '0': 0, '3': 1, '9': 2 });
  assert.deepEqual(lm.palette, ['#00ff07', '#03fc07', '#09f607']);
  assert.equal(stats.classPixels.length, 3);
});

test('RGB masks in the VOC colours, border (224,224,192) read as ignore', async () => {
  const voc = vocPalette(256);
  const colours: RGB[] = [voc[0], voc[12], voc[255]]; // background, dog, border
  const { enc, lm, stats } = await encodingOf(() => Buffer.alloc(0), (file, k) => writePng(file, colourMask(stripes([0, 1, 2], k), colours), 3));
  assert.equal(enc.kind, 'rgb-voc');
  assert.match(enc.summary, /dog \(64,0,128\)/);
  assert.match(enc.summary, /border \(224,224,192\) as ignore/);
  assert.deepEqual(lm.classes, ['background', 'dog']); // the classes present, numbered 0..K-1
  assert.deepEqual(lm.palette, ['#000000', '#400080']); // drawn in their VOC colours
  assert.ok(stats.classPixels[1] > 0);
  assert.ok(stats.ignoredPixels > 0);
});

test('RGB masks in other colours: each colour its id, black first', async () => {
  const colours: RGB[] = [[0, 0, 0], [250, 10, 10], [10, 250, 10]];
  const { enc, lm, stats } = await encodingOf(() => Buffer.alloc(0), (file, k) => writePng(file, colourMask(stripes([1, 0, 2, 1], k), colours), 3));
  assert.equal(enc.kind, 'rgb');
  assert.deepEqual(lm.colors?.[0], { color: '#000000', id: 0 });
  assert.equal(lm.colors?.length, 3);
  assert.equal(stats.classPixels.length, 3);
  assert.equal(stats.classPixels.reduce((a, b) => a + b), 3 * S * S);
});

test('VOC defaults: the border colour maps to ignore, and `colors` extends the default palette', () => {
  const voc = vocPalette(256);
  const img = (cs: RGB[]) => ({ data: new Uint8Array(cs.flat()), width: cs.length, height: 1, channels: 3 });
  const plain = LabelMap.from({ classes: ['bg', 'plane', 'bike'] });
  assert.deepEqual([...plain.mapRgb(img([voc[0], voc[2], [224, 224, 192]]), 'm.png').data], [0, 2, 255]);
  // A colour of one's own for class 1; the other VOC colours still read.
  const ext = LabelMap.from({ classes: ['bg', 'plane', 'bike'], colors: [{ color: '#ff0000', id: 1 }] });
  assert.deepEqual([...ext.mapRgb(img([[255, 0, 0], voc[2], voc[0], [224, 224, 192]]), 'm.png').data], [1, 2, 0, 255]);
});

test('Cityscapes labelIds get the 19 official train ids; ADE20K annotations get reduceZeroLabel', async () => {
  const { runDoctor } = await import('../../src/data/doctor/index.js');
  const { dir, done } = tempDir();
  try {
    const city = join(dir, 'city');
    await writePng(join(city, 'leftImg8bit', 'train', 'aachen', 'aachen_1_leftImg8bit.png'), imagePixels(1), 3);
    await writePng(join(city, 'gtFine', 'train', 'aachen', 'aachen_1_gtFine_labelIds.png'), stripes([0, 7, 26, 33]), 1);
    const c = await runDoctor(city);
    assert.equal(c.encoding?.kind, 'gray-values');
    assert.match(c.encoding!.summary, /Cityscapes labelIds/);
    assert.equal(c.encoding!.labelMap!.classes!.length, 19);
    assert.deepEqual(c.stats.classPixels.filter((n) => n > 0).length, 3); // road 0, car 13, bicycle 18; 0 → ignore
    assert.equal(c.stats.classPixels[13], 16);
    const ade = join(dir, 'ade');
    await pairs(ade, 'images/training', 'annotations/training', 2, (k) => stripes([0, 1, 12, 150], k));
    const a = await runDoctor(ade);
    assert.match(a.notes[0], /ADE20K/);
    assert.equal(a.encoding?.labelMap?.reduceZeroLabel, true);
    assert.equal(a.stats.classPixels[149], 32); // 150 → 149
  } finally {
    done();
  }
});
