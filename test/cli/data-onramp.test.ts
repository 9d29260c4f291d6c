// The data on-ramp from the command line, in child processes: doctor with no config, then
// labelmap / init, then doctor again, on the encodings users bring.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { pairs, stripes, tempDir, imagePixels, writeJpeg, writePng } from '../data/synth.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
function segkit(cwd: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

let tmp: { dir: string; done: () => void };
before(async () => {
  tmp = tempDir('segkit-cli-onramp-');
  const d = tmp.dir;
  await pairs(join(d, 'gray'), 'images', 'masks', 4, (k) => stripes([0, 74, 128, 145], k));
  for (const [k, name] of ['Abyssinian_1', 'Bengal_7', 'beagle_2'].entries()) {
    await writeJpeg(join(d, 'pets', 'images', `${name}.jpg`), imagePixels(k));
    await writePng(join(d, 'pets', 'annotations', 'trimaps', `${name}.png`), stripes([2, 2, 1, 1, 3, 2, 2, 2], k), 1);
  }
  await pairs(join(d, 'csv'), 'img', 'ann', 3, (k) => stripes([0, 1], k));
  writeFileSync(join(d, 'csv', 'index.csv'), 'image,label\nimg/s0.png,ann/s0.png\nimg/s1.png,ann/s1.png\nimg/s2.png,ann/s2.png\n');
  writeFileSync(join(d, 'csv', 'nomask.csv'), 'image,segm\nimg/s0.png,ann/s0.png\n');
});
after(() => tmp.done());

test('gray 0/74/128/145: doctor fails with a label map to use; segkit labelmap writes it; doctor passes', () => {
  const d = tmp.dir;
  const first = segkit(d, 'doctor', 'gray');
  assert.equal(first.status, 1, first.out);
  assert.match(first.out, /masks: 4 gray values 0, 74, 128, 145 in 4 masks/);
  assert.match(first.out, /"values": \{"0": 0, "74": 1, "128": 2, "145": 3\}/);
  assert.match(first.out, /ERROR label-encoding \(1\)/);
  const stats = segkit(d, 'stats', 'gray');
  assert.equal(stats.status, 0, stats.out);
  assert.equal(stats.out.split('\n').filter((l) => /^\d\s+class_\d+\s+\d+/.test(l)).length, 4, stats.out);
  const lm = segkit(d, 'labelmap', 'gray');
  assert.equal(lm.status, 0, lm.out);
  assert.deepEqual(JSON.parse(readFileSync(join(d, 'gray', 'labelmap.json'), 'utf8')).values, { '0': 0, '74': 1, '128': 2, '145': 3 });
  assert.match(segkit(d, 'labelmap', 'gray').out, /labelmap\.json exists; pass --force/);
  const second = segkit(d, 'doctor', 'gray');
  assert.equal(second.status, 0, second.out);
  assert.match(second.out, /label map: .*gray\/labelmap\.json/);
  assert.match(second.out, /0 error\(s\), 0 warning\(s\)/);
});

test('Oxford Pet trimaps: doctor finds the layout and the trimaps; segkit init writes labelmap + dataset.yaml; doctor on it passes', () => {
  const d = tmp.dir;
  const first = segkit(d, 'doctor', 'pets');
  assert.equal(first.status, 1, first.out);
  assert.match(first.out, /layout: Oxford-IIIT Pet \(images\/ \+ annotations\/trimaps\/\)/);
  assert.match(first.out, /masks: trimaps \(Oxford-IIIT Pet\): 1 foreground, 2 background, 3 border/);
  const prev = segkit(d, 'preview', 'pets', '--n', '2', '--size', '8', '--tile', '16', '--out', join(d, 'pets.png'));
  assert.equal(prev.status, 0, prev.out);
  assert.match(prev.out, /The preview below read the masks through this label map/);
  const init = segkit(d, 'init', 'pets');
  assert.equal(init.status, 0, init.out);
  assert.ok(existsSync(join(d, 'pets', 'labelmap.json')));
  const yaml = readFileSync(join(d, 'pets', 'dataset.yaml'), 'utf8');
  assert.match(yaml, /type: folders\n\s+root: \.\n\s+images: images\n\s+masks: annotations\/trimaps\n\s+labelMap: labelmap\.json/);
  const second = segkit(d, 'doctor', 'pets/dataset.yaml');
  assert.equal(second.status, 0, second.out);
  const stats = segkit(d, 'stats', 'pets/dataset.yaml');
  assert.match(stats.out, /0\s+background\s+\d+/);
  assert.match(stats.out, /1\s+foreground\s+\d+/);
  assert.match(stats.out, /ignored pixels \(255\) 24/); // the border rows
});

test('CSV index: a `label` column is the mask column; no mask column is an error naming --mask-column', () => {
  const d = tmp.dir;
  const ok = segkit(d, 'doctor', 'csv/index.csv');
  assert.match(ok.out, /columns: image "image", mask "label"/);
  assert.match(ok.out, /masks: binary masks: values 0 and 1 in 3 masks/);
  assert.equal(ok.status, 0, ok.out);
  const none = segkit(d, 'doctor', 'csv/nomask.csv');
  assert.equal(none.status, 1, none.out);
  assert.match(none.out, /no-masks \(1\).*\n.*has no mask column .*--mask-column <name>/);
  const named = segkit(d, 'doctor', 'csv/nomask.csv', '--mask-column', 'segm');
  assert.equal(named.status, 0, named.out);
});

test('--images/--masks and --skip-bad exist on the data commands and do what they say', () => {
  const d = tmp.dir;
  for (const cmd of ['doctor', 'stats', 'preview', 'split']) assert.ok(segkit(d, cmd, '--help').out.includes('--json <file>'), `${cmd} --help lacks --json`);
  for (const cmd of ['doctor', 'stats', 'preview', 'split', 'labelmap', 'init']) {
    const help = segkit(d, cmd, '--help').out;
    for (const flag of ['--images <folder>', '--masks <folder>', '--mask-column <name>', '--label-map <file>', '--skip-bad', '--max-pixels <n>']) assert.ok(help.includes(flag), `${cmd} --help lacks ${flag}`);
  }
  const r = segkit(d, 'stats', 'gray', '--images', 'images', '--masks', 'masks');
  assert.equal(r.status, 0, r.out);
  // A truncated image: stats stops, --skip-bad skips and counts it.
  const whole = readFileSync(join(d, 'csv', 'img', 's1.png'));
  writeFileSync(join(d, 'csv', 'img', 's1.png'), whole.subarray(0, whole.length >> 1));
  try {
    assert.equal(segkit(d, 'stats', 'csv/index.csv').status, 1);
    const skip = segkit(d, 'stats', 'csv/index.csv', '--skip-bad');
    assert.equal(skip.status, 0, skip.out);
    assert.match(skip.out, /images 2, masks 2/);
    assert.match(skip.out, /skipped 1 bad file/);
    const prev = segkit(d, 'preview', 'csv/index.csv', '--skip-bad', '--n', '3', '--size', '8', '--tile', '16', '--out', join(d, 'p.png'));
    assert.equal(prev.status, 0, prev.out);
  } finally {
    writeFileSync(join(d, 'csv', 'img', 's1.png'), whole);
  }
});

test('split --group-by session keeps every session in one part; required options are marked in --help', async () => {
  const d = tmp.dir;
  for (const s of ['K-01', 'K-02', 'V-03', 'V-04']) await pairs(join(d, 'sessions', s), 'image', 'indexLabel', 3, (k) => stripes([0, 1], k), (k) => `16237${k}4012`);
  const r = segkit(d, 'split', 'sessions', '--group-by', 'session', '--ratios', '1:1', '--out', join(d, 'grouped.csv'));
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /4 groups by session, each kept in one part/);
  const rows = readFileSync(join(d, 'grouped.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const partOf = new Map<string, string>();
  for (const row of rows) {
    const session = row[0].split('/')[0];
    assert.equal(partOf.get(session) ?? row[1], row[1], `session ${session} in two parts`);
    partOf.set(session, row[1]);
  }
  assert.equal(rows[0][2].startsWith('sessions/'), true, 'paths relative to the CSV');
  const doc = segkit(d, 'doctor', 'sessions', '--split', join(d, 'grouped.csv'));
  assert.doesNotMatch(doc.out, /WARN\s+split-leak/);
  assert.match(segkit(d, 'split', '--help').out, /--out <csv>\s+where to write the split \(required\)/);
});

test('init on a COCO folder writes the categories as the label map and a coco config that opens', async () => {
  const d = tmp.dir;
  const { cp } = await import('node:fs/promises');
  const { fixture } = await import('../paths.js');
  await cp(fixture('data', 'coco'), join(d, 'coco'), { recursive: true });
  const init = segkit(d, 'init', 'coco', '--out', join(d, 'configs', 'coco.yaml'));
  assert.equal(init.status, 0, init.out);
  assert.match(init.out, /COCO instances: 3 categories \(car, cat, dog\)/);
  assert.deepEqual(JSON.parse(readFileSync(join(d, 'coco', 'labelmap.json'), 'utf8')).classes, ['background', 'car', 'cat', 'dog']);
  assert.match(readFileSync(join(d, 'configs', 'coco.yaml'), 'utf8'), /type: coco\n\s+annotations: \.\.\/coco\/annotations\.json\n\s+labelMap: \.\.\/coco\/labelmap\.json/);
  const doc = segkit(d, 'doctor', 'configs/coco.yaml');
  assert.match(doc.out, /3 samples/);
  assert.match(doc.out, /label map: .*coco\/labelmap\.json/);
});
