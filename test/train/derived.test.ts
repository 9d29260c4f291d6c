// Config keys whose values come from the data or reach past training: data.normalize (fixed, or
// the train split's mean/std), class weights by name (computed from the train split's masks),
// model.head (a replaced conv, rebuilt by segkit eval from best.safetensors alone) and test.scales
// / test.flip (recorded in the weights, used by segkit eval unless the command line says otherwise).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeaksEachTest } from '../leak.js';
import { generateShapes } from '../../src/data/bundled.js';
import { readSafetensorsMetadata } from '../../src/io/safetensors.js';
import { buildLoss, resolveClassWeights } from '../../src/losses/index.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { buildData, weightsByName } from '../../src/train/setup.js';
import { defaultLoss } from '../../src/train/defaults.js';
import { runTraining } from '../../src/train/run.js';
import { repoRoot } from '../paths.js';
import { confusionColor, EMPTY_ROW_COLOR, rowShares } from '../../src/report/confusion-image.js';
import { cellColors } from '../report/confusion-cells.js';

checkLeaksEachTest();
let tmp: string;
let shapes: string;
const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-derived-'));
  shapes = await generateShapes({ dir: join(tmp, 'shapes'), count: 10, size: 32 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const base = (over: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  outDir: join(tmp, 'runs'),
  threads: 1,
  data: { path: shapes, batchSize: 2, transforms: [{ name: 'horizontalFlip' }, { name: 'normalize' }], valTransforms: [{ name: 'normalize' }] },
  model: { name: 'unet', options: { baseWidth: 4, depth: 2 } },
  train: { iterations: 2, report: false, tensorboard: false, samples: 0 },
  ...over,
});

test('data.normalize: validated against the pipelines; fixed values and ImageNet reach every normalize step', async () => {
  const noStep = { ...base(), data: { path: shapes, transforms: [{ name: 'horizontalFlip' as const }], normalize: 'dataset' as const } };
  assert.throws(() => parseTrainConfig(noStep), /data\.normalize: data\.normalize sets the normalize steps, but data\.transforms has none; end data\.transforms with \{ name: normalize \}/);
  assert.throws(() => parseTrainConfig({ ...base(), data: { path: shapes, normalize: { mean: [0, 0, 0], std: [1, 1] } } }), /data\.normalize: mean has 3 entries and std 2/);
  assert.throws(() => parseTrainConfig({ ...base(), data: { path: shapes, normalize: 'imagenett' as never } }), /data\.normalize/);
  const fixed = parseTrainConfig({ ...base(), data: { ...base().data!, normalize: { mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] } } });
  const d = await buildData(fixed);
  try {
    assert.deepEqual(d.trainLoader.compose.normalizeParams, { mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] });
    assert.deepEqual(d.valLoader.compose.normalizeParams, { mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] });
    assert.equal(d.stats, undefined, 'no statistics computed when nothing needs them');
  } finally {
    await d.trainLoader.close();
    await d.valLoader.close();
  }
});

test('class weights by name: resolved from the train split for ce and focal; unresolved, buildLoss says what to do', async () => {
  const cfg = parseTrainConfig({ ...base(), loss: { terms: [{ name: 'ce', classWeights: 'median-frequency' }, { name: 'focal', classWeights: 'enet', weight: 0.5 }] } });
  const d = await buildData(cfg);
  try {
    const s = d.stats!;
    assert.ok(s, 'statistics computed for the weights');
    const loss = defaultLoss(cfg, d.task, weightsByName(s)) as ReturnType<typeof buildLoss>;
    const [ce, focal] = loss.spec.terms as { classWeights?: number[] }[];
    assert.deepEqual(ce!.classWeights, s.weights.medianFrequency);
    assert.deepEqual(focal!.classWeights, s.weights.enet);
    assert.equal(ce!.classWeights!.length, 4);
    // median frequency from the counts, by hand: freq_c = n_c / T_c, w_c = median(freq) / freq_c
    const freq = s.classPixels.map((n, c) => n / s.classImagePixels[c]!);
    const sorted = [...freq].sort((a, b) => a - b);
    const med = (sorted[1]! + sorted[2]!) / 2;
    freq.forEach((f, c) => assert.ok(Math.abs(ce!.classWeights![c]! - med / f) < 1e-12, `class ${c}`));
    assert.throws(() => defaultLoss(cfg, d.task), /class weights 'median-frequency', 'enet' need the train split's statistics/);
  } finally {
    await d.trainLoader.close();
    await d.valLoader.close();
  }
  assert.throws(() => buildLoss({ terms: [{ name: 'ce', classWeights: 'inverse' }] }), /loss ce: classWeights 'inverse' is computed from the training masks; resolve it first \(resolveClassWeights/);
  const resolved = resolveClassWeights({ terms: [{ name: 'ce', classWeights: 'inverse' }, { name: 'dice' }] }, { inverse: [1, 2] });
  assert.deepEqual(resolved.terms, [{ name: 'ce', classWeights: [1, 2] }, { name: 'dice' }]);
  assert.throws(() => parseTrainConfig({ ...base(), loss: { terms: [{ name: 'ce', classWeights: 'median' as never }] } }), /loss\.terms\[0\]\.classWeights/);
});

test("model.head and test.scales/flip travel in best.safetensors: segkit eval rebuilds the head and averages the run's scales", async () => {
  // UNet's last 1x1 conv ('head') replaced by report 000's head, 8 hidden channels
  const cfg = parseTrainConfig({ ...base({ name: 'head' }), model: { name: 'unet', options: { baseWidth: 4, depth: 2 }, head: { replace: 'head', hidden: 8, dropout: 0.25 } }, data: { ...base().data!, normalize: 'dataset' }, test: { scales: [0.5, 1], flip: true } });
  const r = await runTraining(cfg, { print: () => {} });
  const best = join(r.runDir, 'best.safetensors');
  const meta = readSafetensorsMetadata(best);
  assert.deepEqual(JSON.parse(meta['segkit.head']!), { replace: 'head', hidden: 8, dropout: 0.25 });
  assert.deepEqual(JSON.parse(meta['segkit.inference']!), { scales: [0.5, 1], flip: true });
  const keys = Object.keys(JSON.parse(readFileSync(best).subarray(8, 8 + Number(readFileSync(best).readBigUInt64LE(0))).toString()));
  assert.ok(keys.includes('head.4.weight') && keys.includes('head.1.running_mean') && !keys.includes('head.weight'), 'the replaced head is saved');

  const ev = spawnSync(process.execPath, [main, 'eval', shapes, '--weights', best, '-o', join(tmp, 'eval')], { encoding: 'utf8' });
  assert.equal(ev.status, 0, ev.stderr);
  const report = JSON.parse(readFileSync(join(tmp, 'eval', 'report.json'), 'utf8'));
  assert.deepEqual([report.inference.scales, report.inference.flip], [[0.5, 1], true], 'the run\'s test-time settings');
  assert.deepEqual(report.normalize, JSON.parse(meta['segkit.normalize']!), "the train split's mean/std");
  // confusion.png beside the reports: its cells follow the matrix of report.json, each row normalised
  const matrix = report.metrics.matrix as number[][];
  const title = `unet on ${shapes}: rows truth, columns prediction, each row 100%`;
  const cells = await cellColors(readFileSync(join(tmp, 'eval', 'confusion.png')), 4, 'background'.length, title);
  rowShares(matrix).forEach((row, r) => row.forEach((share, c) => {
    const want = Number.isNaN(share) ? EMPTY_ROW_COLOR : confusionColor(share);
    assert.ok(cells[r]![c]!.every((v, i) => Math.abs(v - want[i]!) <= 1), `confusion.png cell ${r},${c}`);
  }));
  const one = spawnSync(process.execPath, [main, 'eval', shapes, '--weights', best, '-o', join(tmp, 'eval1'), '--scales', '1'], { encoding: 'utf8' });
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(tmp, 'eval1', 'report.json'), 'utf8')).inference.scales, [1], '--scales wins');
});

test('segkit presets and segkit train --list-presets list one line per preset; --preset needs --data; --dry-run shows the filled config', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', cwd: tmp });
  const list = run('presets');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^ {2}deeplabv3-r101-focal-dice +DeepLabv3-ResNet101 with report 000's head, focal 1\.0 \+ dice 0\.5/m);
  assert.match(list.stdout, /^ {2}unet-binary +UNet for binary segmentation/m);
  assert.equal(run('train', '--list-presets').stdout, list.stdout);
  const noData = run('train', '--preset', 'unet-lovasz');
  assert.equal(noData.status, 1);
  assert.match(noData.stderr, /--preset unet-lovasz needs --data PATH/);
  const dry = run('train', '--preset', 'unet-lovasz', '--data', 'my/data', '--set', 'train.epochs=2', '--dry-run');
  assert.equal(dry.status, 0, dry.stderr);
  const cfg = JSON.parse(dry.stdout);
  assert.deepEqual([cfg.name, cfg.data.path, cfg.train.epochs, cfg.loss.terms[0].name], ['unet-lovasz', 'my/data', 2, 'lovasz']);
  const written = run('train', '--preset', 'unet-binary', '--data', 'pets', '--write-config', 'pets.yaml');
  assert.equal(written.status, 0, written.stderr);
  assert.match(readFileSync(join(tmp, 'pets.yaml'), 'utf8'), /^# unet-binary: [\s\S]*\n {2}path: pets\n/);
  assert.match(run('train', '--preset', 'unet-binary', '--data', 'pets', '--write-config', 'pets.yaml').stderr, /pets\.yaml exists; pass --force/);
});
