import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colorizeMask, overlayMask, toRgb } from '../../src/data/overlay.js';
import type { ImageBuffer, MaskBuffer } from '../../src/data/types.js';

const image: ImageBuffer = { data: Uint8Array.from([100, 100, 100, 0, 50, 200, 10, 20, 30, 255, 255, 255]), width: 2, height: 2, channels: 3 };
const palette = [[255, 0, 0], [0, 255, 0]] as const;

test('overlayMask blends palette colours: (1 - a) * image + a * colour, rounded', () => {
  const mask: MaskBuffer = { data: Uint8Array.from([0, 1, 255, 1]), width: 2, height: 2 };
  const out = overlayMask(image, mask, palette, 0.5);
  assert.equal(out.channels, 3);
  assert.deepEqual([...out.data], [
    178, 50, 50, // 100*.5 + 255*.5 = 177.5 -> 178; 50; 50
    0, 153, 100, // 0; 25 + 127.5 = 152.5 -> 153; 100
    10, 20, 30, // ignore index keeps the image
    128, 255, 128, // 127.5 -> 128, 255, 128
  ]);
  const a = overlayMask(image, mask, palette, 0.25, { skip: [0] });
  assert.deepEqual([...a.data.slice(0, 3)], [100, 100, 100]); // skipped class
  assert.deepEqual([...a.data.slice(3, 6)], [0, 101, 150]); // 37.5+63.75=101.25, 150
  assert.deepEqual([...image.data.slice(0, 3)], [100, 100, 100]); // input untouched
});

test('overlayMask: grey input, ids past the palette fall back to VOC colours, size check', () => {
  const grey: ImageBuffer = { data: Uint8Array.from([0, 0]), width: 2, height: 1, channels: 1 };
  const out = overlayMask(grey, { data: Uint16Array.from([3, 2]), width: 2, height: 1 }, palette, 1);
  // VOC colours: id 3 = (128,128,0), id 2 = (0,128,0).
  assert.deepEqual([...out.data], [128, 128, 0, 0, 128, 0]);
  assert.throws(() => overlayMask(image, { data: new Uint8Array(2), width: 2, height: 1 }, palette), /2x2 but mask is 2x1/);
  assert.throws(() => overlayMask(image, { data: new Uint8Array(4), width: 2, height: 2 }, palette, 1.5), /alpha 1.5/);
});

test('colorizeMask paints ids, ignore white; toRgb drops alpha and replicates grey', () => {
  const c = colorizeMask({ data: Uint8Array.from([1, 255]), width: 2, height: 1 }, palette);
  assert.deepEqual([...c.data], [0, 255, 0, 255, 255, 255]);
  const rgba: ImageBuffer = { data: Uint8Array.from([1, 2, 3, 4]), width: 1, height: 1, channels: 4 };
  assert.deepEqual([...toRgb(rgba).data], [1, 2, 3]);
  assert.deepEqual([...toRgb({ data: Uint8Array.from([9]), width: 1, height: 1, channels: 1 }).data], [9, 9, 9]);
});
