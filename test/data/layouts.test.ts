// Dataset layouts found without a config: one tiny fixture per layout, opened with only its
// root, giving the right samples, splits and groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, folderSource, scanFolders } from '../../src/data/sources/folders.js';
import { csvSource } from '../../src/data/sources/csv.js';
import { openInput } from '../../src/data/doctor/input.js';
import { imagePixels, pairs, stripes, tempDir, writeJpeg, writePng } from './synth.js';
import { fixture } from '../paths.js';

const ids = (refs: Array<{ id: string }>) => refs.map((r) => r.id);
const mask = (k: number) => stripes([0, 1], k);

async function within(fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, done } = tempDir('segkit-layout-');
  try {
    await fn(dir);
  } finally {
    done();
  }
}

test('SegNet: <split>/ + <split>annot/ folders', () =>
  within(async (dir) => {
    for (const s of ['train', 'val', 'test']) await pairs(dir, s, `${s}annot`, 2, mask, (k) => `${s}_${k}`);
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /SegNet-style <split>\/ \+ <split>annot\/ folders \(test, train, val\)/);
    assert.deepEqual(ids(scan.refs), ['test/test_0', 'test/test_1', 'train/train_0', 'train/train_1', 'val/val_0', 'val/val_1']);
    assert.deepEqual(scan.refs.map((r) => r.meta?.split), ['test', 'test', 'train', 'train', 'val', 'val']);
    assert.ok(scan.refs[0].maskPath!.endsWith(join('testannot', 'test_0.png')));
    // The same with a config: images '{split}', masks '{split}annot'.
    const cfg = await folderSource({ root: dir, images: '{split}', masks: '{split}annot', splits: ['val'] });
    assert.deepEqual(ids(cfg.refs), ['val/val_0', 'val/val_1']);
    // Without the split list (--images '{split}' --masks '{split}annot'): the subfolders that fit.
    const flags = await openInput(dir, { images: '{split}', masks: '{split}annot' });
    assert.deepEqual(flags.split?.names, ['test', 'train', 'val']);
  }));

test('SegNet list file: "image mask" pairs, no header, the authors\' absolute paths found under the list folder', () =>
  within(async (dir) => {
    await pairs(dir, 'train', 'trainannot', 2, mask);
    writeFileSync(join(dir, 'train.txt'), '/SegNet/CamVid/train/s0.png /SegNet/CamVid/trainannot/s0.png\ntrain/s1.png trainannot/s1.png\n');
    const spec = await csvSource({ file: join(dir, 'train.txt') });
    assert.deepEqual(spec.refs, [
      { id: 's0', imagePath: join(dir, 'train', 's0.png'), maskPath: join(dir, 'trainannot', 's0.png') },
      { id: 's1', imagePath: join(dir, 'train', 's1.png'), maskPath: join(dir, 'trainannot', 's1.png') },
    ]);
  }));

test('Oxford-IIIT Pet: images/*.jpg + annotations/trimaps/*.png (xmls and lists beside them ignored)', () =>
  within(async (dir) => {
    for (const [k, name] of ['Abyssinian_1', 'beagle_2'].entries()) {
      await writeJpeg(join(dir, 'images', `${name}.jpg`), imagePixels(k));
      await writePng(join(dir, 'annotations', 'trimaps', `${name}.png`), stripes([1, 2, 3]), 1);
      await writePng(join(dir, 'annotations', 'trimaps', `._${name}.png`), stripes([1, 2, 3]), 1);
    }
    mkdirSync(join(dir, 'annotations', 'xmls'));
    writeFileSync(join(dir, 'annotations', 'xmls', 'Abyssinian_1.xml'), '<annotation/>');
    writeFileSync(join(dir, 'annotations', 'trainval.txt'), 'Abyssinian_1 1 1 1\n');
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /Oxford-IIIT Pet/);
    assert.deepEqual(ids(scan.refs), ['Abyssinian_1', 'beagle_2']);
    // Pointing the masks at annotations/ works too: the paths differ (trimaps/x) but the names match.
    const named = await folderSource({ root: dir, images: 'images', masks: 'annotations' });
    assert.deepEqual(ids(named.refs), ['Abyssinian_1', 'beagle_2']);
  }));

test('WildScenes-style sessions: <session>/image + <session>/indexLabel, timestamped names', () =>
  within(async (dir) => {
    for (const s of ['V-01', 'K-03']) await pairs(join(dir, s), 'image', 'indexLabel', 2, mask, (k) => `16237${k}4012-5${k}`);
    // The colour masks beside indexLabel are not taken for the masks.
    await pairs(join(dir, 'V-01'), 'image', 'label', 2, mask, (k) => `16237${k}4012-5${k}`);
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /session folders \(K-03, V-01\) each with image\/ \+ indexLabel\//);
    assert.deepEqual(ids(scan.refs), ['K-03/1623704012-50', 'K-03/1623714012-51', 'V-01/1623704012-50', 'V-01/1623714012-51']);
    assert.deepEqual(scan.refs.map((r) => r.meta), [{ session: 'K-03' }, { session: 'K-03' }, { session: 'V-01' }, { session: 'V-01' }]);
    assert.ok(scan.refs[0].maskPath!.includes(join('K-03', 'indexLabel')));
  }));

test('split folders train/ val/ each with images/ + masks/', () =>
  within(async (dir) => {
    for (const s of ['train', 'val']) await pairs(join(dir, s), 'images', 'masks', 1, mask);
    const scan = await scanFolders({ root: dir });
    assert.deepEqual(scan.refs.map((r) => [r.id, r.meta?.split]), [['train/s0', 'train'], ['val/s0', 'val']]);
  }));

test('a flat folder of x.png + x_mask.png', () =>
  within(async (dir) => {
    for (let k = 0; k < 2; k++) {
      await writePng(join(dir, `cell${k}.png`), imagePixels(k), 3);
      await writePng(join(dir, `cell${k}_mask.png`), mask(k), 1);
    }
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /one folder of images and <name>_mask masks/);
    assert.deepEqual(scan.refs.map((r) => [r.id, r.maskPath?.endsWith('_mask.png')]), [['cell0', true], ['cell1', true]]);
  }));

test('Cityscapes: leftImg8bit/ + gtFine/ with the suffixes, split from the first folder', () =>
  within(async (dir) => {
    for (const s of ['train', 'val']) {
      await writePng(join(dir, 'leftImg8bit', s, 'aachen', `aachen_0_${s}_leftImg8bit.png`), imagePixels(s.length), 3);
      for (const kind of ['labelIds', 'color', 'instanceIds']) await writePng(join(dir, 'gtFine', s, 'aachen', `aachen_0_${s}_gtFine_${kind}.png`), mask(0), 1);
    }
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /Cityscapes/);
    assert.deepEqual(scan.refs.map((r) => [r.id, r.meta?.split]), [['train/aachen/aachen_0_train', 'train'], ['val/aachen/aachen_0_val', 'val']]);
    assert.ok(scan.refs[0].maskPath!.endsWith('_gtFine_labelIds.png'));
  }));

test('ADE20K: images/training + annotations/training', () =>
  within(async (dir) => {
    await pairs(dir, 'images/training', 'annotations/training', 1, mask, () => 'ADE_train_00000001');
    await pairs(dir, 'images/validation', 'annotations/validation', 1, mask, () => 'ADE_val_00000001');
    const scan = await scanFolders({ root: dir });
    assert.deepEqual(scan.refs.map((r) => r.meta?.split), ['training', 'validation']);
  }));

test('Pascal VOC: JPEGImages/ + SegmentationClass/, detection-only images left out quietly', () =>
  within(async (dir) => {
    await pairs(dir, 'JPEGImages', 'SegmentationClass', 2, mask, (k) => `2007_00003${k}`);
    await writePng(join(dir, 'JPEGImages', '2008_000001.png'), imagePixels(9), 3);
    const scan = await scanFolders({ root: dir });
    assert.match(scan.layout, /Pascal VOC/);
    assert.deepEqual(ids(scan.refs), ['2007_000030', '2007_000031']);
    assert.deepEqual(scan.unmatchedImages, []);
    // The split lists of ImageSets/Segmentation tag the samples.
    mkdirSync(join(dir, 'ImageSets', 'Segmentation'), { recursive: true });
    writeFileSync(join(dir, 'ImageSets', 'Segmentation', 'train.txt'), '2007_000030\n');
    writeFileSync(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), '2007_000031\n');
    const split = await openInput(dir);
    assert.deepEqual(split.split?.names, ['train', 'val']);
  }));

test('nothing recognised: the error says what was searched, names --images/--masks and gives a config', () =>
  within(async (dir) => {
    await writePng(join(dir, 'photos', 'a.png'), imagePixels(1), 3);
    assert.throws(() => detectLayout(dir), (e: Error) =>
      /no image folder found \(looked for images, image/.test(e.message) && /--images <folder> --masks <folder>/.test(e.message) && /type: folders/.test(e.message));
    // The flags do what the message says.
    await writePng(join(dir, 'gts', 'a.png'), mask(0), 1);
    const opened = await openInput(dir, { images: 'photos', masks: 'gts' });
    assert.deepEqual(ids(opened.spec.refs), ['a']);
    // A flat folder of images without masks says so.
    const flat = join(dir, 'photos');
    assert.throws(() => detectLayout(flat), /found 1 image\(s\) directly in it \(e\.g\. a\.png\) but no masks/);
  }));

test('COCO: an instances JSON in the folder (or annotations/) is found, images resolved, splits from the names', () =>
  within(async (dir) => {
    const { cp } = await import('node:fs/promises');
    await cp(fixture('data', 'coco'), join(dir, 'one'), { recursive: true });
    const one = await openInput(join(dir, 'one'));
    assert.match(one.notes[0], /layout: COCO \(annotations\.json with images in \.\)/);
    assert.deepEqual(ids(one.spec.refs), ['images/one', 'images/two', 'images/empty']);
    assert.deepEqual(one.spec.labelMap?.classes, ['background', 'car', 'cat', 'dog']);
    // COCO 2017 shape: annotations/instances_train2017.json + train2017/.
    const coco = join(dir, 'coco2017');
    for (const part of ['train2017', 'val2017']) {
      await writePng(join(coco, part, `${part}_1.png`), imagePixels(part.length), 3);
      mkdirSync(join(coco, 'annotations'), { recursive: true });
      writeFileSync(join(coco, 'annotations', `instances_${part}.json`), JSON.stringify({
        images: [{ id: 1, file_name: `${part}_1.png`, width: 8, height: 8 }],
        annotations: [{ id: 1, image_id: 1, category_id: 5, bbox: [0, 0, 4, 4], iscrowd: 0, segmentation: [[0, 0, 4, 0, 4, 4, 0, 4]] }],
        categories: [{ id: 5, name: 'cat' }],
      }));
    }
    const both = await openInput(coco);
    assert.deepEqual(both.spec.refs.map((r) => [r.id, r.meta?.split]), [['train/train2017_1', 'train'], ['val/val2017_1', 'val']]);
    assert.deepEqual(both.split?.names, ['train', 'val']);
  }));

test('unmatched files: the error shows an image key beside a mask key; x_mask.png masks pair with x.png', () =>
  within(async (dir) => {
    await writePng(join(dir, 'images', 'cat_1.png'), imagePixels(1), 3);
    await writePng(join(dir, 'masks', 'cat_1_mask.png'), mask(0), 1);
    assert.deepEqual(ids((await folderSource({ root: dir })).refs), ['cat_1']);
    await writePng(join(dir, 'masks', 'dog_1_mask.png'), mask(0), 1);
    await writePng(join(dir, 'images', 'dog-1.png'), imagePixels(2), 3);
    await assert.rejects(folderSource({ root: dir }), /e\.g\. image key "dog-1" vs mask key "dog_1"/);
  }));
