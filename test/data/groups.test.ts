// Leaks between splits: grouped splits keep sessions and sequences whole, and the doctor
// reports groups and near-identical images that a split cuts apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { averageHash, findSplitLeaks, groupedSplit, groupKeyOf } from '../../src/data/groups.js';
import { randomSplit, writeSplitCsv, type Split } from '../../src/data/splits.js';
import { runDoctor } from '../../src/data/doctor/index.js';
import type { SampleRef } from '../../src/data/types.js';
import { pairs, stripes, tempDir } from './synth.js';

const ref = (id: string, meta?: Record<string, string>): SampleRef => ({ id, imagePath: `/d/${id.split('/').pop()}.png`, ...(meta ? { meta } : {}) });

test('group keys: session folders, CamVid-style sequences, a regex', () => {
  assert.equal(groupKeyOf(ref('V-01/1623704012-50', { session: 'V-01' }), 'session'), 'V-01');
  assert.equal(groupKeyOf(ref('0001TP_006690'), 'sequence'), '0001TP');
  assert.equal(groupKeyOf(ref('Seq05VD_f00120'), 'sequence'), 'Seq05VD_f');
  assert.equal(groupKeyOf(ref('patient12_slice3'), /^(patient\d+)/), 'patient12');
});

test('groupedSplit keeps each group in one part, close to the ratios', () => {
  const refs: SampleRef[] = [];
  const sizes = { a: 30, b: 25, c: 20, d: 10, e: 8, f: 7 };
  for (const [s, n] of Object.entries(sizes)) for (let i = 0; i < n; i++) refs.push(ref(`${s}/${i}`, { session: s }));
  const split = groupedSplit(refs, [7, 2, 1], { by: 'session', seed: 3 });
  const partOf = new Map<string, Set<string>>();
  for (const p of split.names) for (const r of split.parts[p]) (partOf.get(r.meta!.session) ?? partOf.set(r.meta!.session, new Set()).get(r.meta!.session)!).add(p);
  for (const [s, parts] of partOf) assert.equal(parts.size, 1, `session ${s} in ${[...parts]}`);
  assert.equal(split.names.reduce((n, p) => n + split.parts[p].length, 0), 100);
  assert.ok(split.parts.train.length >= 60 && split.parts.train.length <= 80, `train ${split.parts.train.length}`);
  assert.ok(split.parts.val.length > 0 && split.parts.test.length > 0);
  assert.deepEqual(groupedSplit(refs, [7, 2, 1], { by: 'session', seed: 3 }), split); // seeded
  assert.deepEqual(findSplitLeaks(split), []);
  assert.ok(findSplitLeaks(randomSplit(refs, [7, 2, 1], { seed: 3 })).some((l) => l.kind === 'session'));
});

test('VOC names (2007_000032) and COCO ids (000000397133) are neither sequences nor timestamps', () => {
  const voc: Split = { names: ['train', 'val'], parts: { train: [ref('2007_000032'), ref('2007_000039'), ref('2008_000002'), ref('2008_000008')], val: [ref('2007_000033'), ref('2008_000003')] } };
  assert.deepEqual(findSplitLeaks(voc), []);
  const coco: Split = { names: ['train', 'val'], parts: { train: [ref('000000397133'), ref('000000397135'), ref('000000397139')], val: [ref('000000397134'), ref('000000397137')] } };
  assert.deepEqual(findSplitLeaks(coco), []);
});

test('numbered photos (Abyssinian_12) are not sequences; frames (0001TP_006690) are', () => {
  const photos: Split = { names: ['train', 'val'], parts: { train: [ref('Abyssinian_1'), ref('Abyssinian_2'), ref('beagle_1')], val: [ref('Abyssinian_3'), ref('beagle_2')] } };
  assert.deepEqual(findSplitLeaks(photos), []);
  const frames: Split = { names: ['train', 'val'], parts: { train: [ref('0001TP_006690'), ref('0001TP_006720'), ref('0006R0_f01000')], val: [ref('0001TP_006750'), ref('0006R0_f01030')] } };
  assert.deepEqual(findSplitLeaks(frames).map((l) => [l.kind, l.key, Object.keys(l.parts)]), [
    ['sequence', '0001TP', ['train', 'val']],
    ['sequence', '0006R0_f', ['train', 'val']],
  ]);
});

test('average hash: the same picture slightly changed hashes the same, another picture not', () => {
  const img = (f: (x: number, y: number) => number) => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data.fill(f(x, y), (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
    return { data, width: 32, height: 32, channels: 3 };
  };
  const a = averageHash(img((x, y) => (x * 5 + y * 3) % 256));
  assert.equal(averageHash(img((x, y) => Math.min(255, ((x * 5 + y * 3) % 256) + 2))), a);
  assert.notEqual(averageHash(img((x, y) => (y * 7) % 256)), a);
});

test('the doctor reports sessions split apart by a random split, and not after a grouped one', async () => {
  const { dir, done } = tempDir();
  try {
    for (const s of ['K-01', 'K-02', 'V-03']) await pairs(join(dir, s), 'image', 'indexLabel', 3, (k) => stripes([0, 1], k), (k) => `${s}_16237${k}4012`);
    const opened = await (await import('../../src/data/doctor/input.js')).openInput(dir);
    const refs = opened.spec.refs;
    writeSplitCsv(join(dir, 'random.csv'), randomSplit(refs, [2, 1], { seed: 1 }));
    const leaky = await runDoctor(dir, { split: join(dir, 'random.csv') });
    const leaks = leaky.issues.filter((i) => i.check === 'split-leak');
    assert.ok(leaks.length > 0 && leaks.every((l) => /^session "(K-01|K-02|V-03)" split apart: train \(\d.*\) and val/.test(l.message)), leaks.map((l) => l.message).join('\n'));
    writeSplitCsv(join(dir, 'grouped.csv'), groupedSplit(refs, [2, 1], { by: 'session', seed: 1 }));
    const clean = await runDoctor(dir, { split: join(dir, 'grouped.csv') });
    assert.deepEqual(clean.issues.filter((i) => i.check === 'split-leak'), []);
  } finally {
    done();
  }
});

test('timestamped frames of one recording split at random interleave in time; an ordered split does not', async () => {
  const { orderedSplit } = await import('../../src/data/splits.js');
  const refs = Array.from({ length: 20 }, (_, i) => ref(`cam_${1541096330 + i}.5`));
  const leaks = findSplitLeaks(randomSplit(refs, [7, 3], { seed: 2 }));
  assert.equal(leaks.length, 1);
  assert.equal(leaks[0].kind, 'timestamps');
  assert.deepEqual(Object.keys(leaks[0].parts).sort(), ['train', 'val']);
  // Ordered by time: only the boundary pair touches, which any cut in time has.
  assert.deepEqual(findSplitLeaks(orderedSplit(refs, [7, 3], { key: 'timestamp' })), []);
});
