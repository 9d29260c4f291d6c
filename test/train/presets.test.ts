// The presets (configs/presets): each validates with only a data path, builds its model, loss,
// optimizer and schedule on a tiny shapes dataset, and trains one step; and what each file's
// header says it sets is what the built objects have (OneCycle 0.01 / 30% / 1e-5, report 000's
// head, RAdam and the train split's mean/std, Lovasz, poly 0.9 with max-over-count weights and
// the multi-scale test recorded in the weights). Sizes are shrunk (64 px, batch 2, no
// pretrained weights: the tests run offline); everything else is the preset's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeaksEachTest } from '../leak.js';
import { generateShapes } from '../../src/data/bundled.js';
import { computeStats } from '../../src/data/stats.js';
import { readSafetensorsMetadata } from '../../src/io/safetensors.js';
import { Conv2d, BatchNorm2d, Dropout, ReLU, Sequential, type Module } from '../../src/nn/index.js';
import { OneCycleLR, PolynomialLR, RAdam, Adam, SGD, type Optimizer } from '../../src/optim/index.js';
import { listPresets, loadPreset, presetConfigText } from '../../src/train/presets.js';
import { loadTrainConfig, type TrainConfig } from '../../src/train/config.js';
import { buildData, buildModel, buildOptimizer, buildScheduler, totalSteps, weightsByName, type RunData, type RunScheduler } from '../../src/train/setup.js';
import { defaultEvaluator, defaultLoss } from '../../src/train/defaults.js';
import { Trainer, type FitResult } from '../../src/train/trainer.js';
import type { SegLoss } from '../../src/losses/index.js';

checkLeaksEachTest();
let tmp: string;
let shapes: string; // 4 classes
let binary: string; // the same scenes as image/mask folders, every shape one foreground class

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-presets-'));
  shapes = await generateShapes({ dir: join(tmp, 'shapes'), count: 10, size: 32 });
  // images and masks only (a shapes folder with annotations.json opens as COCO, without the label map's values)
  binary = join(tmp, 'binary');
  for (const sub of ['images', 'masks']) cpSync(join(shapes, sub), join(binary, sub), { recursive: true });
  writeFileSync(join(binary, 'labelmap.json'), JSON.stringify({ classes: ['background', 'shape'], values: { 0: 0, 1: 1, 2: 1, 3: 1 } }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const EXPECTED = ['deeplabv3-poly-wce', 'deeplabv3-r101-focal-dice', 'fcn-r50', 'resnet34-unet-binary', 'unet-binary', 'unet-lovasz'];

/** The preset on tiny data: offline (no pretrained weights), 1 thread, 64 px steps, batch 2, one step validated. */
function tiny(name: string, data: string, sets: string[] = [], side = 64): TrainConfig {
  const cfg = loadPreset(name, data, [
    `outDir=${JSON.stringify(join(tmp, 'runs'))}`, 'threads=1', 'data.numWorkers=0', 'data.batchSize=2', 'data.valBatchSize=2',
    'model.options.weights=null', 'model.options.weightsBackbone=null',
    'train.epochs=null', 'train.iterations=1', 'val.every=1', 'val.unit=iteration', 'checkpoint.every=1', 'checkpoint.unit=iteration',
    'train.report=false', 'train.tensorboard=false', 'train.samples=0', ...sets,
  ]);
  const shrink = (steps: TrainConfig['data']['transforms']) => steps?.map((s) => {
    if (s.name === 'resize') return s.size ? { ...s, size: [side, side] as [number, number] } : { ...s, shortSide: side, maxSize: side };
    if (s.name === 'randomCrop') return { ...s, size: [side, side] as [number, number] };
    return s;
  });
  return { ...cfg, data: { ...cfg.data, transforms: shrink(cfg.data.transforms), valTransforms: shrink(cfg.data.valTransforms) } };
}

interface Built {
  cfg: TrainConfig;
  data: RunData;
  model: Module;
  optimizer: Optimizer;
  scheduler: RunScheduler | null;
  loss: SegLoss;
  total: number;
}

/** Builds what runTraining builds, lets `check` look at it, then trains the config's steps. */
async function buildAndTrain(cfg: TrainConfig, check: (b: Built) => void | Promise<void>): Promise<FitResult> {
  const data = await buildData(cfg);
  const model = buildModel(cfg, data.task);
  const optimizer = buildOptimizer(cfg, model);
  const loss = defaultLoss(cfg, data.task, data.stats && weightsByName(data.stats)) as SegLoss;
  let trainer: Trainer | undefined;
  try {
    const total = totalSteps(cfg, data.trainLoader);
    const scheduler = buildScheduler(cfg, optimizer, total);
    await check({ cfg, data, model, optimizer, scheduler, loss, total });
    trainer = new Trainer({
      config: cfg, model, optimizer, scheduler, trainLoader: data.trainLoader, valLoader: data.valLoader, loss,
      makeEvaluator: () => defaultEvaluator(data.task), buildModel: () => buildModel(cfg, data.task), print: () => {},
      ...(data.task.classNames ? { classNames: data.task.classNames } : {}),
    });
    return await trainer.fit();
  } finally {
    trainer?.dispose();
    optimizer.dispose();
    model.dispose();
    await data.trainLoader.close();
    await data.valLoader.close();
  }
}

/** The lr after each of `steps` scheduler steps (a throwaway run of the schedule). */
function lrCurve(scheduler: RunScheduler, optimizer: Optimizer, steps: number): number[] {
  const lrs = [optimizer.paramGroups[0]!.lr as number];
  for (let i = 0; i < steps; i++) {
    (scheduler as { step(): void }).step();
    lrs.push(optimizer.paramGroups[0]!.lr as number);
  }
  return lrs;
}

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-12);
const metadata = (r: FitResult) => readSafetensorsMetadata(join(r.runDir, 'best.safetensors'));

test('the presets are listed with one line each, and each file says which seed report it reproduces', () => {
  const all = listPresets();
  assert.deepEqual(all.map((p) => p.name), EXPECTED);
  for (const p of all) {
    const text = readFileSync(p.file, 'utf8');
    assert.match(text.split('\n')[0]!, new RegExp(`^# ${p.name}: \\S`), `${p.file}: first line is '# ${p.name}: summary'`);
    assert.ok(p.summary.length > 20 && !p.summary.includes('\n'), `${p.name}: summary "${p.summary}"`);
    assert.match(text, /[Rr]eport 00[0-4] \([^)]*00[0-4]_[0-9a-f]{16}\.txt\)/, `${p.file} cites its seed report`);
    assert.match(text, new RegExp(`segkit train --preset ${p.name} --data `), `${p.file} shows its command`);
    assert.match(readFileSync(p.file, 'utf8'), new RegExp(`^name: ${p.name}$`, 'm'), `${p.name}: the run is named after the preset`);
  }
});

test('every preset validates with only a data path; without one the error says so; --set applies on top', () => {
  for (const name of EXPECTED) {
    const cfg = loadPreset(name, 'some/data');
    assert.equal(cfg.data.path, 'some/data');
    assert.equal(cfg.name, name);
  }
  assert.equal(loadPreset('unet-binary', 'd', ['train.epochs=3', 'name=quick']).train.epochs, 3);
  assert.throws(() => loadPreset('unet-binry', 'd'), /no such preset; presets: deeplabv3-poly-wce, .*unet-binary/);
  assert.throws(() => loadPreset('unet-binary', 'd', ['optimizer.lrr=1']), /optimizer\.lrr: unknown key \(did you mean lr\?\)/);
});

test('a written preset config keeps the header comments, carries the data path and loads to the same config', () => {
  const file = join(tmp, 'written.yaml');
  writeFileSync(file, presetConfigText('deeplabv3-poly-wce', 'data/roads'));
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^# deeplabv3-poly-wce: /);
  assert.match(text, /report 003/);
  assert.deepEqual(loadTrainConfig(file), loadPreset('deeplabv3-poly-wce', 'data/roads'));
});

test("deeplabv3-r101-focal-dice: report 000's head on classifier.4, focal 1.0 + dice 0.5, OneCycle 0.01 / 30% / cosine to 1e-5, amp; trains a step", async () => {
  const cfg = tiny('deeplabv3-r101-focal-dice', shapes, ['train.iterations=4'], 32); // OneCycle needs 4 steps (30% of them >= 1)
  assert.equal(cfg.train.amp, true);
  assert.deepEqual(loadPreset('deeplabv3-r101-focal-dice', 'd').model.options, { weights: 'DEFAULT' }, 'pretrained DeepLabv3 (COCO-with-VOC-labels)');
  const r = await buildAndTrain(cfg, ({ model, loss, optimizer, scheduler, data }) => {
    assert.equal(cfg.model.name, 'deeplabv3_resnet101');
    assert.ok(model.getSubmodule('backbone.layer3.22') !== undefined, 'ResNet-101 has 23 blocks in layer3');
    const head = model.getSubmodule('classifier.4') as Sequential;
    const layers = [...head.children()];
    assert.deepEqual(layers.map((m) => m.constructor.name), ['Conv2d', 'BatchNorm2d', 'ReLU', 'Dropout', 'Conv2d']);
    const [c1, bn, , drop, c2] = layers as [Conv2d, BatchNorm2d, ReLU, Dropout, Conv2d];
    assert.deepEqual([c1.inChannels, c1.outChannels, c1.kernelSize, c1.padding], [256, 256, [3, 3], [1, 1]]);
    assert.equal(bn.numFeatures, 256);
    assert.equal(drop.p, 0.5);
    assert.deepEqual([c2.inChannels, c2.outChannels, c2.kernelSize], [256, data.task.numClasses, [1, 1]]);
    assert.deepEqual(loss.spec.terms.map((t) => [t.name, t.weight]), [['focal', 1], ['dice', 0.5]]);
    assert.ok(optimizer instanceof SGD);
    assert.ok(scheduler instanceof OneCycleLR);
    // the documented curve, on a 100-step run of the same schedule
    const probe = buildScheduler({ ...cfg, train: { ...cfg.train, iterations: 100 } }, optimizer, 100)!;
    const lrs = lrCurve(probe, optimizer, 99);
    const peak = lrs.indexOf(Math.max(...lrs));
    assert.ok(close(lrs[0]!, 0.01 / 25), `starts at maxLr/25, got ${lrs[0]}`);
    assert.equal(peak, 29, '30% of the steps rise (peak at step 0.3 * 100 - 1)');
    assert.ok(close(lrs[peak]!, 0.01), `peak ${lrs[peak]}`);
    assert.ok(close(lrs[99]!, 1e-5, 1e-6), `ends at 1e-5, got ${lrs[99]}`);
    const mid = 29 + 35; // half-way through the annealing: the cosine's midpoint
    assert.ok(close(lrs[mid]!, (0.01 + 1e-5) / 2, 1e-6), `cosine midpoint ${lrs[mid]}`);
  });
  assert.equal(r.step, 4);
  const meta = metadata(r);
  assert.deepEqual(JSON.parse(meta['segkit.head']!), { replace: 'classifier.4', hidden: 256, dropout: 0.5 });
});

test('fcn-r50: FCN-ResNet50 with report 000 training (focal + dice, OneCycle, amp); trains a step', async () => {
  const cfg = tiny('fcn-r50', shapes, ['train.iterations=4'], 32);
  const r = await buildAndTrain(cfg, ({ model, loss, scheduler, data }) => {
    assert.equal(model.constructor.name, 'FCN');
    assert.ok(model.getSubmodule('backbone.layer3.5') !== undefined);
    assert.throws(() => model.getSubmodule('backbone.layer3.6'), /no child '6'/, 'ResNet-50: 6 blocks in layer3');
    assert.equal((model.getSubmodule('classifier.4') as Conv2d).outChannels, data.task.numClasses);
    assert.deepEqual(loss.spec.terms.map((t) => [t.name, t.weight]), [['focal', 1], ['dice', 0.5]]);
    assert.ok(scheduler instanceof OneCycleLR);
    assert.equal(cfg.train.amp, true);
  });
  assert.equal(r.step, 4);
});

for (const [name, encoder] of [['unet-binary', 'UNet'], ['resnet34-unet-binary', 'Unet']] as const) {
  test(`${name}: one sigmoid channel, BCE, RAdam, flips, the train split's mean/std (saved with the weights), best by binary Dice`, async () => {
    const cfg = tiny(name, binary);
    let expected: { mean: number[]; std: number[] } | undefined;
    const r = await buildAndTrain(cfg, async ({ model, loss, optimizer, data }) => {
      assert.equal(model.constructor.name, encoder);
      assert.equal((model as { numClasses?: number }).numClasses, 1);
      if (name === 'unet-binary') assert.equal((model.getSubmodule('enc1.block.0') as Conv2d).outChannels, 32, 'base width 32');
      else assert.equal(model.getSubmodule('encoder.layer3').children().length, 6, 'ResNet-34: 6 blocks in layer3');
      assert.deepEqual([loss.spec.output, loss.spec.terms.map((t) => t.name)], ['sigmoid', ['bce']]);
      assert.ok(optimizer instanceof RAdam);
      assert.deepEqual(data.trainLoader.compose.steps.map((s) => s.name), ['resize', 'horizontalFlip', 'verticalFlip', 'normalize']);
      // the mean/std are those of the train split, computed independently here
      const s = (await computeStats(data.train)).stats;
      expected = { mean: s.mean, std: s.std };
      assert.deepEqual(data.trainLoader.compose.normalizeParams, expected);
      assert.deepEqual(data.valLoader.compose.normalizeParams, expected);
      assert.notDeepEqual(s.mean.map((m) => m.toFixed(3)), ['0.485', '0.456', '0.406']);
    });
    assert.equal(r.best?.metric, 'binaryDice');
    assert.deepEqual(JSON.parse(metadata(r)['segkit.normalize']!), expected, 'eval/predict normalise as training did');
  });
}

test('unet-lovasz: 64-wide UNet with BatchNorm, Lovasz-softmax, Adam, batch 1, inputs scaled to [0, 1]; trains a step', async () => {
  assert.equal(loadPreset('unet-lovasz', 'd').data.batchSize, 1);
  const cfg = tiny('unet-lovasz', shapes);
  const r = await buildAndTrain(cfg, ({ model, loss, optimizer, data }) => {
    assert.equal((model.getSubmodule('enc1.block.0') as Conv2d).outChannels, 64);
    assert.equal(model.getSubmodule('enc1.block.1').constructor.name, 'BatchNorm2d');
    assert.equal((model as { numClasses?: number }).numClasses, 4);
    assert.deepEqual(loss.spec.terms.map((t) => t.name), ['lovasz']);
    assert.ok(optimizer instanceof Adam && !(optimizer instanceof RAdam));
    assert.deepEqual(data.trainLoader.compose.normalizeParams, { mean: [0, 0, 0], std: [1, 1, 1] });
  });
  assert.equal(r.best?.metric, 'miou');
});

test('deeplabv3-poly-wce: poly 0.9, CE weighted max-over-count from the train split, aux 0.4, multi-scale flip test recorded; trains a step', async () => {
  const cfg = tiny('deeplabv3-poly-wce', shapes, [], 32);
  const r = await buildAndTrain(cfg, async ({ model, loss, optimizer, scheduler, data }) => {
    assert.equal(cfg.model.name, 'deeplabv3_resnet101');
    assert.ok(model.getSubmodule('aux_classifier') !== undefined, 'aux head');
    assert.equal(loss.spec.auxWeight, 0.4);
    const s = (await computeStats(data.train)).stats;
    const max = Math.max(...s.classPixels);
    const want = s.classPixels.map((n) => (n > 0 ? max / n : 0));
    const ce = loss.spec.terms[0]!;
    assert.equal(ce.name, 'ce');
    assert.deepEqual((ce as { classWeights?: number[] }).classWeights, want);
    assert.ok(want.some((w) => w > 1.5), 'the shapes are rarer than the background');
    assert.ok(optimizer instanceof SGD);
    assert.deepEqual([optimizer.paramGroups[0]!.lr, optimizer.paramGroups[0]!.momentum, optimizer.paramGroups[0]!.weightDecay], [0.01, 0.9, 0.0005]);
    assert.ok(scheduler instanceof PolynomialLR);
    const probe = buildScheduler({ ...cfg, train: { ...cfg.train, iterations: 10 } }, optimizer, 10)!;
    const lrs = lrCurve(probe, optimizer, 10);
    lrs.forEach((lr, k) => assert.ok(close(lr, 0.01 * (1 - k / 10) ** 0.9, 1e-9), `poly step ${k}: ${lr}`));
  });
  assert.deepEqual(JSON.parse(metadata(r)['segkit.inference']!), { scales: [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2], flip: true });
  assert.deepEqual(loadPreset('deeplabv3-poly-wce', 'd').model.options, { weightsBackbone: 'DEFAULT', auxLoss: true });
});
