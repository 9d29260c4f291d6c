// CSV mask columns, the doctor on inputs without masks or without the label map they need,
// onBadFile 'skip' in stats and preview, and the preview's legend, captions and black classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvSource } from '../../src/data/sources/csv.js';
import { runDoctor, formatReport } from '../../src/data/doctor/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { computeStats } from '../../src/data/stats.js';
import { renderPreview } from '../../src/data/preview.js';
import { overlayMask } from '../../src/data/overlay.js';
import type { SampleSource } from '../../src/data/stats.js';
import type { ImageBuffer, Sample } from '../../src/data/types.js';
import { pairs, stripes, tempDir } from './synth.js';

test('CSV mask columns named label, annotation, gt or target are read as masks', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'img', 'ann', 2, (k) => stripes([0, 1], k));
    for (const col of ['label', 'Annotation', 'gt', 'target', 'mask_path']) {
      writeFileSync(join(dir, 'index.csv'), `path,${col}\nimg/s0.png,ann/s0.png\nimg/s1.png,ann/s1.png\n`);
      const spec = await csvSource({ file: join(dir, 'index.csv') });
      assert.deepEqual(spec.refs.map((r) => r.maskPath), [join(dir, 'ann', 's0.png'), join(dir, 'ann', 's1.png')], col);
      assert.equal(spec.refs[0].meta, undefined); // the mask column is not a meta column
    }
    const { stats } = await computeStats(await openDataset({ source: { type: 'csv', file: join(dir, 'index.csv') } }));
    assert.equal(stats.masks, 2);
  } finally {
    done();
  }
});

test('the doctor on a CSV with no mask column reports it as an error naming --mask-column', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'img', 'ann', 2, (k) => stripes([0, 1], k));
    writeFileSync(join(dir, 'index.csv'), 'image,segm\nimg/s0.png,ann/s0.png\nimg/s1.png,ann/s1.png\n');
    const report = await runDoctor(join(dir, 'index.csv'));
    assert.equal(report.errors, 1);
    const [issue] = report.issues.filter((i) => i.check === 'no-masks');
    assert.match(issue.message, /none of the 2 samples has a mask: the header \(image, segm\) has no mask column .*--mask-column/);
    assert.doesNotMatch(formatReport(report), /0 error/);
    // Named, it is clean.
    const named = await runDoctor(join(dir, 'index.csv'), { maskColumn: 'segm' });
    assert.equal(named.errors, 0, formatReport(named));
    assert.ok(named.notes.includes('columns: image "image", mask "segm"'));
  } finally {
    done();
  }
});

test('the doctor without a label map explains gray values and prints a label map; with it, clean', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 3, (k) => stripes([0, 74, 128, 145], k));
    const report = await runDoctor(dir);
    const [issue] = report.issues.filter((i) => i.check === 'label-encoding');
    assert.match(issue.message, /4 gray values 0, 74, 128, 145/);
    assert.deepEqual((issue.details as { labelMap: unknown }).labelMap, report.encoding!.labelMap);
    const text = formatReport(report);
    assert.match(text, /"values": \{"0": 0, "74": 1, "128": 2, "145": 3\}/);
    writeFileSync(join(dir, 'labelmap.json'), JSON.stringify(report.encoding!.labelMap));
    const after = await runDoctor(dir);
    assert.equal(after.errors, 0, formatReport(after));
    assert.equal(after.encoding, undefined);
    assert.deepEqual(after.stats.classPixels, [48, 48, 48, 48]);
  } finally {
    done();
  }
});

test("onBadFile 'skip' is honoured by stats and preview", async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 3, (k) => stripes([0, 1], k));
    const whole = readFileSync(join(dir, 'images', 's1.png'));
    writeFileSync(join(dir, 'images', 's1.png'), whole.subarray(0, whole.length >> 1));
    const strict = await openDataset({ source: { type: 'folders', root: dir } });
    await assert.rejects(computeStats(strict), /s1\.png/);
    const ds = await openDataset({ source: { type: 'folders', root: dir }, onBadFile: 'skip' });
    const { stats, skipped } = await computeStats(ds);
    assert.equal(stats.images, 2);
    assert.deepEqual(skipped.map((r) => r.id), ['s1']);
    const r = await renderPreview(ds, { n: 3, tile: 16 });
    assert.deepEqual(r.refs.map((x) => x.id).sort(), ['s0', 's2']);
  } finally {
    done();
  }
});

const solid = (rgb: number[]): ImageBuffer => {
  const data = new Uint8Array(8 * 8 * 3);
  for (let i = 0; i < 64; i++) data.set(rgb, i * 3);
  return { data, width: 8, height: 8, channels: 3 };
};

test('preview: a class with a black palette colour is drawn; legend lists the classes shown; sample ids under tiles', async () => {
  const mask = new Uint8Array(64).map((_, i) => (i < 32 ? 0 : 2)); // top background, bottom class 2
  const sample: Sample = { ref: { id: 'frame_0042', imagePath: 'x.png' }, image: solid([200, 200, 200]), mask: { data: mask, width: 8, height: 8 } };
  const source: SampleSource = {
    length: 1,
    get: async () => sample,
    labelMap: { ignoreIndex: 255, classes: ['bg', 'road', 'tyre'], palette: [[0, 0, 0], [255, 0, 0], [0, 0, 0]] },
  };
  const plain = await renderPreview(source, { n: 1, tile: 8, pad: 0, legend: false, captions: false });
  // Background (class 0, black) is left uncoloured; class 2, black too, darkens its pixels.
  assert.deepEqual(plain.grid.data, overlayMask(sample.image, sample.mask!, source.labelMap!.palette, 0.5, { skip: [0] }).data);
  assert.deepEqual([...plain.grid.data.subarray(0, 3)], [200, 200, 200]);
  assert.deepEqual([...plain.grid.data.subarray(40 * 3, 40 * 3 + 3)], [100, 100, 100]);
  const full = await renderPreview(source, { n: 1, tile: 64, pad: 0 });
  assert.deepEqual(full.legend, [
    { id: 0, name: 'bg', color: [0, 0, 0] },
    { id: 2, name: 'tyre', color: [0, 0, 0] },
  ]);
  assert.ok(full.grid.height > 64 + 16, 'caption strip and legend under the tile');
  // The caption strip holds text: some light pixels on the dark strip.
  const strip = full.grid.data.subarray(64 * 64 * 3, (64 + 16) * 64 * 3);
  assert.ok(strip.some((v) => v > 150), 'sample id drawn under the tile');
});

test('without a label map the other checks read the masks through the suggested one (0/255 masks are not "empty")', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 3, (k) => stripes([0, 255], k));
    const report = await runDoctor(dir);
    assert.deepEqual(report.issues.map((i) => i.check), ['label-encoding']);
    assert.deepEqual(report.stats.classPixels, [96, 96]);
    assert.ok(report.notes.some((n) => /read the masks through the label map suggested below/.test(n)));
  } finally {
    done();
  }
});

test('the HTML report shows the layout, what the masks hold and the label map to use', async () => {
  const { dir, done } = tempDir();
  try {
    await pairs(dir, 'images', 'masks', 2, (k) => stripes([0, 74, 128, 145], k));
    await runDoctor(dir, { html: join(dir, 'report.html') });
    const page = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(page, /<li>layout: images\/ \+ masks\/<\/li>/);
    assert.match(page, /<li>masks: 4 gray values 0, 74, 128, 145/);
    assert.match(page, /&quot;values&quot;: \{&quot;0&quot;: 0, &quot;74&quot;: 1/);
  } finally {
    done();
  }
});
