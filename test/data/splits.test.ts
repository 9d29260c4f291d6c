import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applySplit,
  orderedSplit,
  parseRatios,
  partSizes,
  randomSplit,
  readSplitCsv,
  stratifiedSplit,
  timestampOf,
  writeSplitCsv,
  type ClassPresence,
  type Split,
} from '../../src/data/splits.js';
import type { SampleRef } from '../../src/data/types.js';

const ref = (id: string, ext = '.png'): SampleRef => ({ id, imagePath: `/data/images/${id}${ext}`, maskPath: `/data/masks/${id}.png` });
const ids = (split: Split, part: string): string[] => split.parts[part].map((r) => r.id);
const many = (n: number): SampleRef[] => Array.from({ length: n }, (_, i) => ref(`img${String(i).padStart(3, '0')}`));

test('partSizes: floors, then largest remainders; always sums to n', () => {
  assert.deepEqual(partSizes(10, [7, 2, 1]), [7, 2, 1]);
  assert.deepEqual(partSizes(11, [7, 2, 1]), [8, 2, 1]); // 7.7, 2.2, 1.1 -> leftover to train
  assert.deepEqual(partSizes(5, [1, 1]), [3, 2]); // tie goes to the earlier part
  assert.deepEqual(partSizes(7, [0.5, 0.25, 0.25]), [3, 2, 2]); // 3.5, 1.75, 1.75: .75s beat .5
  assert.deepEqual(partSizes(3, [1, 0, 1]), [2, 0, 1]);
  for (let n = 0; n < 40; n++) assert.equal(partSizes(n, [3, 5, 1, 1]).reduce((a, b) => a + b), n);
});

test('parseRatios reads 7:2:1, commas and slashes; rejects nonsense', () => {
  assert.deepEqual(parseRatios('7:2:1'), [7, 2, 1]);
  assert.deepEqual(parseRatios('0.8,0.2'), [0.8, 0.2]);
  assert.deepEqual(parseRatios('60/20/10/10'), [60, 20, 10, 10]);
  assert.throws(() => parseRatios('7'), /7:2:1/);
  assert.throws(() => parseRatios('a:b'), /cannot read ratios/);
  assert.throws(() => parseRatios('1:-1'), /cannot read ratios/);
});

test('randomSplit: sizes, disjoint cover, seeded and independent of input order', () => {
  const refs = many(50);
  const a = randomSplit(refs, [7, 2, 1], { seed: 42 });
  assert.deepEqual(a.names, ['train', 'val', 'test']);
  assert.deepEqual(a.names.map((n) => a.parts[n].length), [35, 10, 5]);
  const all = a.names.flatMap((n) => ids(a, n)).sort();
  assert.deepEqual(all, refs.map((r) => r.id));
  const b = randomSplit([...refs].reverse(), [7, 2, 1], { seed: 42 });
  assert.deepEqual(b.parts, a.parts);
  const c = randomSplit(refs, [7, 2, 1], { seed: 43 });
  assert.notDeepEqual(ids(c, 'val'), ids(a, 'val'));
  // Shuffled, not just cut in id order.
  assert.notDeepEqual(ids(a, 'train'), refs.slice(0, 35).map((r) => r.id));
});

test('randomSplit: any number of parts, default and custom names', () => {
  const s = randomSplit(many(20), [1, 1, 1, 1, 1], { seed: 1 });
  assert.deepEqual(s.names, ['train', 'val', 'test', 'part4', 'part5']);
  assert.ok(s.names.every((n) => s.parts[n].length === 4));
  const t = randomSplit(many(20), [3, 1], { names: ['fit', 'holdout'] });
  assert.deepEqual([t.parts.fit.length, t.parts.holdout.length], [15, 5]);
  assert.throws(() => randomSplit(many(4), [1, 1], { names: ['a'] }), /one name per ratio/);
  assert.throws(() => randomSplit([ref('x'), ref('x')], [1, 1]), /appears twice/);
});

test('orderedSplit by timestamp: earliest 70% train, then val, then test', () => {
  // Driving-style frame names with UNIX timestamps (seconds.fraction), listed out of order.
  const stamps = [1541096332.1, 1541096332.5, 1541096333.0, 1541096331.9, 1541096340.25, 1541096335.75, 1541096334.0, 1541096339.0, 1541096336.5, 1541096338.0];
  const refs = stamps.map((t, i) => ({ id: `cam_${i}`, imagePath: `/d/frames/cam_front_${t.toFixed(3)}.jpg` }));
  const s = orderedSplit(refs, [7, 2, 1], { key: 'timestamp' });
  const sorted = [...stamps].sort((a, b) => a - b);
  const times = (part: string): number[] => s.parts[part].map((r) => timestampOf(r));
  assert.deepEqual(times('train'), sorted.slice(0, 7));
  assert.deepEqual(times('val'), sorted.slice(7, 9));
  assert.deepEqual(times('test'), sorted.slice(9));
});

test('timestampOf: integer, fraction after _ or ., custom regex; error names the file', () => {
  assert.equal(timestampOf({ id: 'a', imagePath: '/x/1541096332123.png' }), 1541096332123);
  assert.equal(timestampOf({ id: 'a', imagePath: '/x/frame_1541096332_456.png' }), 1541096332.456);
  assert.equal(timestampOf({ id: 'a', imagePath: '/x/t=17.png' }, /t=(\d+)/), 17);
  assert.throws(() => timestampOf({ id: 'a', imagePath: '/x/frame_12.png' }), /frame_12\.png.*--key-regex/);
});

test('orderedSplit by name is numeric-aware (img2 before img10)', () => {
  const refs = ['img10', 'img2', 'img1', 'img3', 'img20'].map((n) => ref(n));
  const s = orderedSplit(refs, [3, 2]);
  assert.deepEqual(ids(s, 'train'), ['img1', 'img2', 'img3']);
  assert.deepEqual(ids(s, 'val'), ['img10', 'img20']);
});

test('stratifiedSplit: rare classes reach val where possible, the rest is reported', () => {
  // 10 images. Class 0 everywhere; class 1 in 2 images; class 2 in 1; class 3 in 3; class 4 in none.
  const items: ClassPresence[] = many(10).map((r, i) => ({
    ref: r,
    classes: [0, ...(i === 3 || i === 7 ? [1] : []), ...(i === 5 ? [2] : []), ...(i === 1 || i === 2 || i === 8 ? [3] : [])],
  }));
  const s = stratifiedSplit(items, [7, 2, 1], { seed: 3, numClasses: 5 });
  assert.deepEqual(s.names.map((n) => s.parts[n].length), [7, 2, 1]);
  const classesIn = (part: string): Set<number> =>
    new Set(s.parts[part].flatMap((r) => items.find((it) => it.ref.id === r.id)!.classes));
  assert.deepEqual([...classesIn('train')].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...classesIn('val')].sort(), [0, 1, 3]);
  assert.deepEqual([...classesIn('test')].sort(), [0, 3]);
  const unplaced = s.unplaced.map((u) => `${u.classId}:${u.part}:${u.images}`).sort();
  assert.deepEqual(unplaced, ['1:test:2', '2:test:1', '2:val:1']);
  assert.deepEqual(s.absent, [4]);
  // Reproducible.
  assert.deepEqual(stratifiedSplit(items, [7, 2, 1], { seed: 3 }).parts, s.parts);
});

test('stratifiedSplit: every class with 3+ images lands in every part; sizes exact', () => {
  // 120 images, 12 classes with very different frequencies; seeded generator for the data.
  let x = 12345;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const items: ClassPresence[] = many(120).map((r) => ({
    ref: r,
    classes: Array.from({ length: 12 }, (_, c) => c).filter((c) => rnd() < 0.9 / (c + 1) ** 1.6),
  }));
  const count = (c: number): number => items.filter((it) => it.classes.includes(c)).length;
  const s = stratifiedSplit(items, [7, 2, 1], { seed: 9 });
  assert.deepEqual(s.names.map((n) => s.parts[n].length), [84, 24, 12]);
  const lookup = new Map(items.map((it) => [it.ref.id, it.classes]));
  for (let c = 0; c < 12; c++) {
    const n = count(c);
    for (const part of s.names) {
      const inPart = s.parts[part].filter((r) => lookup.get(r.id)!.includes(c)).length;
      if (n >= 3) assert.ok(inPart > 0, `class ${c} (${n} images) missing from ${part}`);
    }
  }
  // Only classes too rare for a part are reported: class 9 has 1 image, class 11 has 2.
  assert.deepEqual(s.unplaced.map((u) => `${u.classId}:${u.part}`).sort(), ['11:test', '9:test', '9:val']);
  // Common classes keep roughly the 7:2:1 proportion in every part.
  for (const c of [0, 1, 2]) {
    s.names.forEach((part, k) => {
      const inPart = s.parts[part].filter((r) => lookup.get(r.id)!.includes(c)).length;
      assert.ok(Math.abs(inPart - (count(c) * [7, 2, 1][k]) / 10) <= 2, `class ${c} in ${part}: ${inPart} of ${count(c)}`);
    });
  }
  // A plain random split of the same data with the same seed loses classes from val.
  const valOf = (sp: Split): Set<number> => new Set(sp.parts.val.flatMap((r) => lookup.get(r.id)!));
  const twoPlus = [...Array(12).keys()].filter((c) => count(c) >= 2);
  assert.ok(twoPlus.every((c) => valOf(s).has(c)));
  assert.ok(!twoPlus.every((c) => valOf(randomSplit(items.map((it) => it.ref), [7, 2, 1], { seed: 9 })).has(c)));
});

test('split CSV round trip: relative paths, quoting, meta columns; atomic write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-split-'));
  try {
    const refs: SampleRef[] = [
      { id: 'a,1', imagePath: join(dir, 'images', 'a,1.png'), maskPath: join(dir, 'masks', 'a,1.png'), meta: { city: 'Zürich "old"' } },
      { id: 'b', imagePath: join(dir, 'images', 'b.png') },
      { id: 'c', imagePath: '/elsewhere/c.png', maskPath: '/elsewhere/c_mask.png' },
    ];
    const split = randomSplit(refs, [2, 1], { seed: 5 });
    const path = join(dir, 'split.csv');
    writeSplitCsv(path, split);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('split')), ['split.csv']);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^id,split,image,mask,city\n/);
    assert.ok(text.includes('"a,1",') && text.includes(',images/b.png,') && text.includes('/elsewhere/c.png') && text.includes('"Zürich ""old"""'));
    const back = readSplitCsv(path);
    assert.deepEqual(back.names, split.names);
    assert.deepEqual(back.parts, split.parts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applySplit: parts as specs of the original dataset, matched by id', () => {
  const spec = { refs: many(5).map((r) => ({ ...r, meta: { source: 'a' } })), labelMap: { classes: ['x'] } };
  const split: Split = { names: ['train', 'val'], parts: { train: [ref('img003'), ref('img000')], val: [ref('img004')] } };
  const parts = applySplit(spec, split);
  assert.deepEqual(parts.train.refs.map((r) => r.id), ['img003', 'img000']);
  assert.equal(parts.val.refs[0].meta?.source, 'a'); // the dataset's ref, not the CSV's
  assert.deepEqual(parts.val.labelMap, spec.labelMap);
  assert.throws(() => applySplit(spec, { names: ['val'], parts: { val: [ref('zzz')] } }), /does not have, e.g. zzz/);
});
