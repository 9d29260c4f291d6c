import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelMap, parseLabelMap, vocPalette } from '../../src/data/labelmap.js';
import type { ImageBuffer, MaskBuffer } from '../../src/data/types.js';

const mask = (values: number[], wide = false): MaskBuffer => ({
  data: wide ? Uint16Array.from(values) : Uint8Array.from(values),
  width: values.length,
  height: 1,
});
const ids = (m: MaskBuffer): number[] => [...m.data];

test('identity map keeps train ids and the ignore index; values outside the classes are an error naming file, value and pixel count', () => {
  const lm = LabelMap.from({ classes: ['bg', 'cat', 'dog'] });
  assert.deepEqual(ids(lm.mapGray(mask([0, 1, 2, 255, 1]), 'm.png')), [0, 1, 2, 255, 1]);
  assert.throws(
    () => lm.mapGray(mask([0, 5, 5, 7, 1]), 'masks/m.png'),
    (e: Error) => /masks\/m\.png/.test(e.message) && /5 \(2 pixels\)/.test(e.message) && /7 \(1 pixels\)/.test(e.message) && /unmapped: 'ignore'/.test(e.message),
  );
});

test("unmapped: 'ignore' maps uncovered values to the ignore index", () => {
  const lm = LabelMap.from({ classes: ['bg', 'fg'], unmapped: 'ignore', ignoreIndex: 200 });
  assert.deepEqual(ids(lm.mapGray(mask([0, 1, 2, 200, 255]), 'm.png')), [0, 1, 200, 200, 200]);
});

test('a values table maps raw ids (Cityscapes style) and may send values to ignore', () => {
  const lm = LabelMap.from({ classes: ['road', 'sidewalk', 'car'], values: { '7': 0, '8': 1, '26': 2, '0': 255 } });
  assert.deepEqual(ids(lm.mapGray(mask([7, 8, 26, 0, 255]), 'gt.png')), [0, 1, 2, 255, 255]);
  assert.throws(() => lm.mapGray(mask([7, 33]), 'gt.png'), /33 \(1 pixels\)/);
  assert.throws(() => LabelMap.from({ classes: ['a'], values: { '3': 4 } }), /train id 4.*only 1 classes/);
});

test('16-bit raw values map through the 65536-entry table', () => {
  const lm = LabelMap.from({ classes: ['a', 'b'], values: { '1000': 0, '65000': 1 } });
  const out = lm.mapGray(mask([1000, 65000, 1000], true), 'm.png');
  assert.ok(out.data instanceof Uint8Array);
  assert.deepEqual(ids(out), [0, 1, 0]);
});

test('reduceZeroLabel follows MMSegmentation: 0 → 255, v → v-1, 255 stays 255', () => {
  const classes = Array.from({ length: 150 }, (_, i) => `c${i}`);
  const lm = LabelMap.from({ classes, reduceZeroLabel: true });
  assert.deepEqual(ids(lm.mapGray(mask([0, 1, 2, 150, 255]), 'ade.png')), [255, 0, 1, 149, 255]);
  assert.throws(() => lm.mapGray(mask([151]), 'ade.png'), /151 \(1 pixels\)/);
});

test('binary encodings: 0/255, 0/1 and Oxford-IIIT Pet trimaps', () => {
  assert.deepEqual(ids(LabelMap.from({ binary: '0/255' }).mapGray(mask([0, 255, 0]), 'm.png')), [0, 1, 0]);
  assert.throws(() => LabelMap.from({ binary: '0/255' }).mapGray(mask([0, 128]), 'm.png'), /128 \(1 pixels\)/);
  assert.deepEqual(ids(LabelMap.from({ binary: '0/1' }).mapGray(mask([0, 1, 255]), 'm.png')), [0, 1, 255]);
  const tri = LabelMap.from({ binary: 'trimap' });
  assert.deepEqual(tri.classes, ['background', 'foreground']);
  assert.deepEqual(ids(tri.mapGray(mask([1, 2, 3, 2]), 'pet.png')), [1, 0, 255, 0]);
  assert.deepEqual(ids(LabelMap.from({ binary: 'trimap', trimapBorder: 1 }).mapGray(mask([1, 2, 3]), 'pet.png')), [1, 0, 1]);
  assert.throws(() => tri.mapGray(mask([0, 1]), 'pet.png'), /pet\.png.*0 \(1 pixels\)/);
});

test('colour masks map to ids; uncovered colours are reported as (r,g,b) with counts', () => {
  const lm = LabelMap.from({
    classes: ['bg', 'person'],
    colors: [
      { color: [0, 0, 0], id: 0 },
      { color: '#c08080', id: 1 },
      { color: [224, 224, 192], id: 255 },
    ],
  });
  const img: ImageBuffer = { data: Uint8Array.from([0, 0, 0, 192, 128, 128, 224, 224, 192, 192, 128, 128]), width: 4, height: 1, channels: 3 };
  assert.deepEqual(ids(lm.mapRgb(img, 'c.png')), [0, 1, 255, 1]);
  const bad: ImageBuffer = { data: Uint8Array.from([0, 0, 0, 9, 8, 7, 9, 8, 7]), width: 3, height: 1, channels: 3 };
  assert.throws(() => lm.mapRgb(bad, 'c.png'), /c\.png.*\(9,8,7\) \(2 pixels\)/);
});

test('train ids → palette colours → ids round-trips (default palette = VOC colour map)', () => {
  const lm = LabelMap.from({ classes: ['a', 'b', 'c', 'd'] });
  const m = mask([0, 1, 2, 3, 255, 2]);
  const rgb = lm.toColors(m);
  assert.deepEqual([...rgb.data.subarray(0, 6)], [0, 0, 0, 128, 0, 0]);
  assert.deepEqual([...rgb.data.subarray(12, 15)], [224, 224, 192]); // ignore
  const back = LabelMap.from({ classes: ['a', 'b', 'c', 'd'], unmapped: 'ignore' }).mapRgb(rgb, 'x');
  assert.deepEqual(ids(back), [0, 1, 2, 3, 255, 2]);
});

test('the VOC colour map matches the published PASCAL VOC colours', () => {
  const p = vocPalette();
  assert.deepEqual(p[1], [128, 0, 0]); // aeroplane
  assert.deepEqual(p[3], [128, 128, 0]); // boat
  assert.deepEqual(p[15], [192, 128, 128]); // person
  assert.deepEqual(p[20], [0, 64, 128]); // tvmonitor
  assert.deepEqual(p[255], [224, 224, 192]); // border
});

test('a custom palette overrides display colours', () => {
  const lm = LabelMap.from({ classes: ['a', 'b'], palette: ['#ff0000', [0, 0, 255]] });
  assert.deepEqual([...lm.toColors(mask([1, 0])).data], [0, 0, 255, 255, 0, 0]);
});

test('more than 256 classes give Uint16 train ids', () => {
  const classes = Array.from({ length: 300 }, (_, i) => `c${i}`);
  const out = LabelMap.from({ classes, ignoreIndex: 65535 }).mapGray(mask([299, 65535, 0], true), 'm.png');
  assert.ok(out.data instanceof Uint16Array);
  assert.deepEqual(ids(out), [299, 65535, 0]);
});

test('the zod schema rejects typos and bad values with their paths', () => {
  assert.throws(() => parseLabelMap({ classes: ['a'], ignore_index: 255 }), /ignore_index/);
  assert.throws(() => parseLabelMap({ classes: ['a'], palette: [[0, 0, 300]] }), /palette\.0/);
  assert.throws(() => parseLabelMap({ values: { '1': 0 } }), /needs `classes`/);
  assert.throws(() => parseLabelMap({ classes: ['a'], values: { x: 0 } }), /values/);
  assert.throws(() => parseLabelMap({ binary: '0-255' }), /binary/);
  assert.deepEqual(parseLabelMap({ classes: ['a'], colors: [{ color: '#00ff00', id: 0 }] }).colors, [{ color: '#00ff00', id: 0 }]);
});

test('mapping a 1024x1024 mask is one table pass (fast)', () => {
  const lm = LabelMap.from({ classes: Array.from({ length: 19 }, (_, i) => `c${i}`), values: Object.fromEntries(Array.from({ length: 19 }, (_, i) => [String(i + 7), i])), unmapped: 'ignore' });
  const n = 1024 * 1024;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 7) % 34;
  const t0 = performance.now();
  const out = lm.mapGray({ data, width: 1024, height: 1024 }, 'big.png');
  const ms = performance.now() - t0;
  assert.deepEqual([...out.data.subarray(0, 5)], [255, 0, 7, 14, 255]); // raw 0, 7, 14, 21, 28
  assert.ok(ms < 500, `mapping took ${ms.toFixed(1)} ms`);
});
