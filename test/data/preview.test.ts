import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeGrid, previewIndices, renderPreview, writePreview } from '../../src/data/preview.js';
import { overlayMask } from '../../src/data/overlay.js';
import type { SampleSource } from '../../src/data/stats.js';
import type { ImageBuffer, Sample } from '../../src/data/types.js';
import { trainPreset } from '../../src/data/transforms/index.js';

const solid = (w: number, h: number, rgb: number[]): ImageBuffer => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { data, width: w, height: h, channels: 3 };
};
const px = (img: ImageBuffer, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

test('makeGrid places tiles row by row with padding on the background colour', () => {
  const g = makeGrid([solid(2, 2, [255, 0, 0]), solid(2, 2, [0, 255, 0]), solid(2, 2, [0, 0, 255])], 2, 1, [9, 9, 9]);
  assert.deepEqual([g.width, g.height], [7, 7]); // 2 tiles + 3 gaps each way
  assert.deepEqual(px(g, 0, 0), [9, 9, 9]);
  assert.deepEqual(px(g, 1, 1), [255, 0, 0]);
  assert.deepEqual(px(g, 2, 2), [255, 0, 0]);
  assert.deepEqual(px(g, 3, 1), [9, 9, 9]); // gap between columns
  assert.deepEqual(px(g, 4, 2), [0, 255, 0]);
  assert.deepEqual(px(g, 1, 4), [0, 0, 255]); // second row
  assert.deepEqual(px(g, 4, 4), [9, 9, 9]); // empty cell
});

// Two 8x8 samples: left half class 1, right half class 2 (sample 0), or all class 0 (sample 1).
function sample(k: number): Sample {
  const image = solid(8, 8, [40 * k, 100, 200]);
  for (let y = 0; y < 8; y++) image.data.set([k * 100, 0, 0], (y * 8 + 7) * 3); // a marked right column
  const mask = new Uint8Array(64);
  for (let i = 0; i < 64; i++) mask[i] = k === 0 ? (i % 8 < 4 ? 1 : 2) : 0;
  return { ref: { id: `s${k}`, imagePath: `s${k}.png` }, image, mask: { data: mask, width: 8, height: 8 } };
}
const source: SampleSource = { length: 2, get: async (i) => sample(i) };
const palette = [[0, 0, 0], [255, 0, 0], [0, 0, 255]] as const;
const tileAt = (g: ImageBuffer, k: number, cols: number, size: number, pad: number): ImageBuffer => {
  const x0 = pad + (k % cols) * (size + pad);
  const y0 = pad + Math.floor(k / cols) * (size + pad);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) out.set(g.data.subarray(((y0 + y) * g.width + x0) * 3, ((y0 + y) * g.width + x0 + size) * 3), y * size * 3);
  return { data: out, width: size, height: size, channels: 3 };
};

test('renderPreview: tiles are the masks blended over the images, in the seeded order', async () => {
  const { grid, refs } = await renderPreview(source, { n: 4, tile: 8, pad: 2, palette, alpha: 0.5, seed: 7, legend: false, captions: false });
  assert.deepEqual([grid.width, grid.height], [2 * 8 + 3 * 2, 2 * 8 + 3 * 2]);
  const order = previewIndices(2, 4, 7);
  assert.deepEqual(refs.map((r) => r.id), order.map((i) => `s${i}`));
  assert.deepEqual(order.slice(2), order.slice(0, 2)); // n > dataset: the order cycles
  for (let k = 0; k < 4; k++) {
    const s = sample(order[k]);
    // Class 0 is black in the palette: left uncoloured, so sample 1 (all class 0) shows the plain image.
    assert.deepEqual(tileAt(grid, k, 2, 8, 2).data, overlayMask(s.image, s.mask!, palette, 0.5, { skip: [0] }).data);
    if (order[k] === 1) assert.deepEqual(tileAt(grid, k, 2, 8, 2).data, s.image.data);
  }
});

test('renderPreview applies the transforms to image and mask together', async () => {
  const { grid } = await renderPreview(source, { n: 2, tile: 8, pad: 0, cols: 2, palette, transform: [{ name: 'horizontalFlip', p: 1 }], legend: false, captions: false });
  const order = previewIndices(2, 2, 0);
  for (let k = 0; k < 2; k++) {
    const plain = overlayMask(sample(order[k]).image, sample(order[k]).mask!, palette, 0.5, { skip: [0] });
    const tile = tileAt(grid, k, 2, 8, 0);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) assert.deepEqual(px(tile, x, y), px(plain, 7 - x, y));
  }
});

test('writePreview: a PNG of the grid; the train preset is reproducible per seed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-preview-'));
  try {
    const opts = { n: 6, tile: 32, transform: trainPreset(16), seed: 3, legend: false, captions: false };
    const a = await writePreview(join(dir, 'grid.png'), source, opts);
    const meta = await sharp(join(dir, 'grid.png')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 3 * 32 + 4 * 4, 2 * 32 + 3 * 4]);
    const b = await renderPreview(source, opts);
    assert.deepEqual(b.grid.data, a.grid.data);
    const c = await renderPreview(source, { ...opts, seed: 4 });
    assert.notDeepEqual(c.grid.data, a.grid.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
