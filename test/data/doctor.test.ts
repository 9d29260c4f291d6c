import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { doctorExitCode, formatReport, runDoctor, type CheckId, type DoctorReport } from '../../src/data/doctor/index.js';
import { writeSplitCsv, type Split } from '../../src/data/splits.js';

// Every dataset here is generated into a temp dir with sharp: 16x16 PNGs, a label map
// (background, cat, dog, bird) in labelmap.json, and one planted problem per file name.
const W = 16;
let tmp: string;

function pixels(seed: number, channels = 3, w = W, h = W): Buffer {
  const b = Buffer.alloc(w * h * channels);
  let x = seed * 2654435761;
  for (let i = 0; i < b.length; i++) b[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
}
async function png(file: string, data: Buffer, channels: 1 | 3, w = W, h = W, level = 6): Promise<void> {
  mkdirSync(join(file, '..'), { recursive: true });
  await sharp(data, { raw: { width: w, height: h, channels } }).png({ compressionLevel: level }).toFile(file);
}
/** Mask with columns split between the given classes (equal shares, left to right). */
function stripes(classes: number[], w = W, h = W): Buffer {
  const m = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = classes[Math.floor((x * classes.length) / w)];
  return m;
}
async function pair(root: string, name: string, seed: number, mask: Buffer): Promise<void> {
  await png(join(root, 'images', `${name}.png`), pixels(seed), 3);
  await png(join(root, 'masks', `${name}.png`), mask, 1);
}
const LABELS = { classes: ['background', 'cat', 'dog', 'bird'] };

let broken: string;
let clean: string;
let report: DoctorReport;
let html: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-doctor-'));

  // Clean: 6 samples, background/cat/dog in equal stripes; bird is not in this label map.
  clean = join(tmp, 'clean');
  for (let i = 0; i < 6; i++) await pair(clean, `ok${i}`, 100 + i, stripes([0, 1, 2]));
  writeFileSync(join(clean, 'labelmap.json'), JSON.stringify({ classes: ['background', 'cat', 'dog'] }));

  // Broken: every planted problem.
  broken = join(tmp, 'broken');
  const r = broken;
  writeFileSync(join(tmp, 'labelmap.json'), JSON.stringify(LABELS)); // passed explicitly below
  for (let i = 0; i < 4; i++) await pair(r, `good${i}`, i + 1, stripes([0, 1, 0, 1])); // background + cat
  const dog = stripes([0, 1]);
  dog[0] = dog[1] = 2; // 2 dog pixels only: severe imbalance
  await pair(r, 'rare_dog', 11, dog);
  await png(join(r, 'images', 'orphan.png'), pixels(12), 3); // image without mask
  await png(join(r, 'masks', 'ghost.png'), stripes([0, 1]), 1); // mask without image
  await png(join(r, 'images', 'big.png'), pixels(13), 3);
  await png(join(r, 'masks', 'big.png'), stripes([0, 1], 12, 12), 1, 12, 12); // 12x12 mask, 16x16 image
  writeFileSync(join(r, 'images', 'garbage.png'), pixels(14, 1, 10, 10)); // not an image at all
  await png(join(r, 'masks', 'garbage.png'), stripes([0, 1]), 1);
  const whole = await sharp(pixels(15), { raw: { width: W, height: W, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
  writeFileSync(join(r, 'images', 'trunc.png'), whole.subarray(0, whole.length >> 1)); // truncated
  await png(join(r, 'masks', 'trunc.png'), stripes([0, 1]), 1);
  const unmapped = stripes([0, 1]);
  for (let i = 0; i < 5; i++) unmapped[100 + i] = 7; // value 7, 5 pixels
  await pair(r, 'unmapped', 16, unmapped);
  await png(join(r, 'images', 'colour.png'), pixels(17), 3);
  const rgb = Buffer.alloc(W * W * 3);
  for (let i = 0; i < W * W; i++) rgb.set(i % 2 ? [128, 0, 0] : [0, 0, 0], i * 3); // VOC-style colour mask
  await png(join(r, 'masks', 'colour.png'), rgb, 3);
  const empty = Buffer.alloc(W * W);
  empty.fill(255, 0, 20); // background and ignore only
  await pair(r, 'empty', 18, empty);
  await pair(r, 'dup_a', 19, stripes([0, 1]));
  await png(join(r, 'images', 'dup_b.png'), pixels(19), 3, W, W, 9); // same pixels, other bytes
  await png(join(r, 'masks', 'dup_b.png'), stripes([1, 0]), 1);

  // A split whose val part has no dog.
  const ref = (n: string) => ({ id: n, imagePath: join(r, 'images', `${n}.png`), maskPath: join(r, 'masks', `${n}.png`) });
  const split: Split = { names: ['train', 'val'], parts: { train: ['good0', 'good1', 'rare_dog', 'dup_a'].map(ref), val: ['good2', 'good3', 'dup_b'].map(ref) } };
  writeSplitCsv(join(tmp, 'split.csv'), split);

  html = join(tmp, 'report', 'doctor.html');
  report = await runDoctor(broken, { labelMap: join(tmp, 'labelmap.json'), split: join(tmp, 'split.csv'), html });
});

after(() => rmSync(tmp, { recursive: true, force: true }));

const of = (check: CheckId) => report.issues.filter((i) => i.check === check);
const names = (check: CheckId) => of(check).flatMap((i) => i.files.map((f) => f.slice(broken.length + 1))).sort();

test('doctor finds images without masks and masks without images', () => {
  assert.deepEqual(names('missing-mask'), ['images/orphan.png']);
  assert.deepEqual(names('missing-image'), ['masks/ghost.png']);
});

test('doctor finds unreadable and truncated files', () => {
  assert.deepEqual(names('unreadable'), ['images/garbage.png', 'images/trunc.png']);
  assert.match(of('unreadable').find((i) => i.files[0].endsWith('trunc.png'))!.message, /corrupt or truncated/);
});

test('doctor finds size mismatches with both sizes', () => {
  assert.equal(of('size-mismatch').length, 1);
  assert.deepEqual(names('size-mismatch'), ['images/big.png', 'masks/big.png']);
  assert.match(of('size-mismatch')[0].message, /12x12 but image .* is 16x16/);
});

test('doctor finds unmapped label values with pixel counts', () => {
  assert.deepEqual(names('unmapped-values'), ['images/unmapped.png', 'masks/unmapped.png']);
  assert.deepEqual(of('unmapped-values')[0].details, { values: { 7: 5 } });
  assert.match(of('unmapped-values')[0].message, /7 \(5 px\)/);
});

test('doctor finds colour masks where ids were expected', () => {
  assert.deepEqual(names('rgb-mask'), ['images/colour.png', 'masks/colour.png']);
  assert.match(of('rgb-mask')[0].message, /128 pixels with R, G, B not all equal/);
});

test('doctor finds empty masks, duplicates, absent classes, split gaps and imbalance', () => {
  assert.deepEqual(names('empty-mask'), ['images/empty.png', 'masks/empty.png']);
  assert.deepEqual(names('duplicate-image'), ['images/dup_a.png', 'images/dup_b.png']);
  assert.deepEqual(of('absent-class').map((i) => i.details), [{ classes: [3] }]);
  assert.deepEqual(of('split-missing-class').map((i) => i.details), [{ part: 'val', classes: [2] }]);
  const imb = of('imbalance');
  assert.equal(imb.length, 1);
  assert.equal((imb[0].details as { min: number }).min, 2); // dog, 2 pixels
  assert.ok((imb[0].details as { ratio: number }).ratio > 10);
});

test('every check fires on the broken dataset; errors and warnings counted; exit code', () => {
  // The dataset-wide input checks (no masks at all, masks needing a label map) have their own tests.
  for (const s of report.summary) if (s.check !== 'no-masks' && s.check !== 'label-encoding') assert.ok(s.count > 0, `check ${s.check} found nothing`);
  assert.equal(report.errors, report.issues.filter((i) => i.severity === 'error').length);
  assert.equal(report.errors, 7); // 1 + 1 missing, 2 unreadable, 1 size, 1 unmapped, 1 rgb
  assert.equal(doctorExitCode(report), 1);
  const text = formatReport(report);
  assert.match(text, /ERROR unreadable \(2\): re-export/);
  assert.match(text, /split-missing-class\s+classes missing from a split\s+warn\s+1/);
  assert.match(text, /WARN  imbalance \(1\)/);
});

test('HTML report is self-contained, with thumbnails of the offending files', () => {
  const page = readFileSync(html, 'utf8');
  assert.ok(page.startsWith('<!doctype html>'));
  for (const f of ['orphan.png', 'ghost.png', 'garbage.png', 'trunc.png', 'big.png', 'unmapped.png', 'colour.png', 'empty.png', 'dup_b.png']) {
    assert.ok(page.includes(f), `${f} not listed`);
  }
  const thumbs = page.match(/src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) ?? [];
  // One per listed file that decodes: 1 + 1 unmatched, 2 each for size, colour, unmapped, empty, duplicates.
  assert.equal(thumbs.length, 12);
  assert.ok(!/src="(?!data:)/.test(page), 'external resource referenced');
  assert.equal(page.match(/class="miss">unreadable/g)?.length, 2); // garbage and truncated: no thumbnail
});

test('a clean dataset gives no errors and no warnings', async () => {
  const r = await runDoctor(clean);
  assert.deepEqual(r.issues, []);
  assert.equal(doctorExitCode(r, 'warn'), 0);
  assert.deepEqual(r.stats.classPixels, [6 * 96, 6 * 80, 6 * 80]); // 16 columns over 3 stripes: 6, 5, 5
  // A warning alone fails only with --fail-on warn.
  const lopsided = await runDoctor(clean, { imbalanceRatio: 1.1 });
  assert.equal(lopsided.errors, 0);
  assert.equal(lopsided.warnings, 1);
  assert.equal(doctorExitCode(lopsided, 'error'), 0);
  assert.equal(doctorExitCode(lopsided, 'warn'), 1);
});

test('other inputs: split folders, a nested YAML config, a CSV index naming missing files', async () => {
  // Split folders: train has dog, val does not; val also holds an image without mask.
  const sf = join(tmp, 'splitfolders');
  for (const [part, n, classes] of [['train', 3, [0, 1, 2]], ['val', 2, [0, 1]]] as const) {
    for (let i = 0; i < n; i++) await pair(join(sf, part), `${part}${i}`, 200 + i + (part === 'val' ? 10 : 0), stripes([...classes]));
  }
  await png(join(sf, 'val', 'images', 'lonely.png'), pixels(230), 3);
  writeFileSync(join(tmp, 'ds.yaml'), `dataset:\n  source:\n    type: folders\n    root: splitfolders\n    splits: true\n    labelMap:\n      classes: [background, cat, dog]\n`);
  const r = await runDoctor(join(tmp, 'ds.yaml'));
  assert.deepEqual(r.splitParts, ['train', 'val']);
  assert.deepEqual(r.issues.map((i) => i.check), ['missing-mask', 'split-missing-class']);
  assert.ok(r.issues[0].files[0].endsWith(join('val', 'images', 'lonely.png')));
  assert.deepEqual(r.issues[1].details, { part: 'val', classes: [2] });

  // CSV index: one row names an image that is not there, one a mask that is not there.
  const img = (n: string) => join(sf, 'train', 'images', `${n}.png`);
  const msk = (n: string) => join(sf, 'train', 'masks', `${n}.png`);
  writeFileSync(join(tmp, 'index.csv'), `image,mask\n${img('train0')},${msk('train0')}\n${img('nope')},${msk('train1')}\n${img('train2')},${msk('nope')}\n`);
  const c = await runDoctor(join(tmp, 'index.csv'), { labelMap: { classes: ['background', 'cat', 'dog'] } });
  assert.deepEqual(c.issues.map((i) => [i.check, i.files.map((f) => f.slice(sf.length + 1))]), [
    ['missing-mask', [join('train', 'images', 'train2.png'), join('train', 'masks', 'nope.png')]],
    ['missing-image', [join('train', 'images', 'nope.png'), join('train', 'masks', 'train1.png')]],
  ]);
});
