// The Trainer in process on a tiny shapes dataset and a tiny UNet: non-finite losses (skip leaves
// the whole state unchanged, stop names the step and terms, the skip cap), gradient accumulation,
// best-by-metric and early stopping, EMA arithmetic, bfloat16 autocast, and the run folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeaksEachTest } from '../leak.js';
import { F, cudaAvailable, manualSeed, noGrad, randn, tensor, tidy, toRaw } from '../../src/torch/index.js';
import { BatchNorm2d, type Module } from '../../src/nn/index.js';
import { disposeStateDict, type Optimizer } from '../../src/optim/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readImage } from '../../src/io/image.js';
import { generateShapes } from '../../src/data/bundled.js';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { buildData, buildModel, buildOptimizer, buildScheduler, totalSteps, trainDevice } from '../../src/train/setup.js';
import { defaultEvaluator, defaultLoss, flattenMetrics, type Evaluator, type LossFn } from '../../src/train/defaults.js';
import { NonFiniteError, Trainer, type TrainerHooks } from '../../src/train/trainer.js';
import { ModelEma } from '../../src/train/ema.js';
import { JsonlLog } from '../../src/train/logging.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { runTraining } from '../../src/train/run.js';
import { readScalars } from '../../src/io/tensorboard.js';

checkLeaksEachTest();
let tmp: string;
let runs = 0;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-trainer-'));
  await generateShapes({ dir: join(tmp, 'shapes'), count: 12, size: 32 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

type Over = { [K in keyof TrainConfigInput]?: Partial<Exclude<TrainConfigInput[K], undefined>> & Record<string, unknown> };
function config(over: Over = {}) {
  const base: Record<string, Record<string, unknown>> = {
    data: { path: join(tmp, 'shapes'), batchSize: 2, transforms: [{ name: 'normalize' }] },
    model: { name: 'unet', options: { baseWidth: 4, depth: 2 } },
    train: { iterations: 4 },
  };
  const merged: Record<string, unknown> = { name: `r${runs++}`, outDir: join(tmp, 'runs'), threads: 1 };
  for (const k of new Set([...Object.keys(base), ...Object.keys(over)])) {
    const a = base[k];
    const b = (over as Record<string, unknown>)[k];
    merged[k] = a && b && typeof b === 'object' ? { ...a, ...b } : (b ?? a);
  }
  return parseTrainConfig(merged);
}

interface Setup {
  trainer: Trainer;
  model: Module;
  optimizer: Optimizer;
  close(): Promise<void>;
}

async function setup(over: Over, opts: { wrap?: (l: LossFn) => LossFn; evaluator?: () => Evaluator; hooks?: TrainerHooks } = {}): Promise<Setup> {
  const cfg = config(over);
  const data = await buildData(cfg);
  const model = buildModel(cfg, data.task);
  const optimizer = buildOptimizer(cfg, model);
  const scheduler = buildScheduler(cfg, optimizer, totalSteps(cfg, data.trainLoader));
  const loss = defaultLoss(cfg, data.task);
  const release = async () => {
    loss.dispose?.();
    optimizer.dispose();
    model.dispose();
    await data.trainLoader.close();
    await data.valLoader.close();
  };
  let trainer: Trainer;
  try {
    trainer = new Trainer({
    config: cfg, model, optimizer, scheduler, trainLoader: data.trainLoader, valLoader: data.valLoader,
    loss: opts.wrap ? opts.wrap(loss) : loss,
    makeEvaluator: opts.evaluator ?? (() => defaultEvaluator(data.task)),
    buildModel: () => buildModel(cfg, data.task),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    print: () => {},
    });
  } catch (e) {
    await release();
    throw e;
  }
  return {
    trainer, model, optimizer,
    async close() {
      trainer.dispose();
      await release();
    },
  };
}

/** Every byte of the model's state dict and the optimizer's state. */
function snapshot(model: Module, optimizer: Optimizer): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, t] of model.stateDict()) out.set(`model.${k}`, Buffer.from(toRaw(t).data).toString('base64'));
  const sd = optimizer.stateDict();
  for (const [i, entry] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(entry)) out.set(`opt.${i}.${k}`, typeof v === 'object' && v !== null ? Buffer.from(toRaw(v).data).toString('base64') : String(v));
  }
  disposeStateDict(sd);
  return out;
}

/** The loss, made NaN on the calls listed (1-based). */
const nanOn = (calls: (n: number) => boolean) => (base: LossFn): LossFn => {
  let n = 0;
  return (out, target) => {
    const r = base(out, target);
    if (!calls(++n)) return r;
    const bad = r.total.mul(Number.NaN);
    return { total: bad, terms: { ce: bad } };
  };
};

test('nonFinite skip: the skipped step leaves weights, BatchNorm buffers and optimizer state unchanged, and is counted', async () => {
  const states = new Map<number, Map<string, string>>();
  let s: Setup | undefined;
  s = await setup({ train: { nonFinite: 'skip' } }, {
    wrap: nanOn((n) => n === 2),
    hooks: { onRecord: (r) => r.type === 'train' && states.set(r.step as number, snapshot(s!.model, s!.optimizer)) },
  });
  try {
    const result = await s.trainer.fit();
    assert.equal(result.skipped, 1);
    assert.equal(result.step, 4);
    assert.deepEqual(states.get(2), states.get(1), 'the skipped step 2 changed the state');
    assert.notDeepEqual(states.get(3), states.get(2), 'step 3 trained');
    const log = JsonlLog.read(s.trainer.log.file);
    const skip = log.find((r) => r.type === 'skip')!;
    assert.deepEqual([skip.step, (skip.terms as Record<string, unknown>).ce, skip.skipped], [2, null, 1]);
    assert.equal(log.find((r) => r.type === 'train' && r.step === 2)!.skipped, true);
  } finally {
    await s.close();
  }
});

test('nonFinite stop: fit rejects with the step and the loss terms, and the log records it', async () => {
  const s = await setup({}, { wrap: nanOn((n) => n === 3) });
  try {
    await assert.rejects(s.trainer.fit(), (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.match(e.message, /non-finite loss at step 3 of 4 \(epoch 1\): loss=NaN, ce=NaN.*train\.nonFinite: skip/);
      assert.equal(e.step, 3);
      assert.ok(Number.isNaN(e.terms.ce));
      return true;
    });
    assert.equal(JsonlLog.read(s.trainer.log.file).find((r) => r.type === 'nonfinite')?.step, 3);
  } finally {
    await s.close();
  }
});

test('nonFinite skip stops once more than train.maxSkipped steps were skipped', async () => {
  const s = await setup({ train: { nonFinite: 'skip', maxSkipped: 1 } }, { wrap: nanOn(() => true) });
  try {
    await assert.rejects(s.trainer.fit(), /2 steps skipped for non-finite losses, more than train\.maxSkipped \(1\); last at step 2/);
  } finally {
    await s.close();
  }
});

test('gradient accumulation: two batches of 1 make the same SGD step as one batch of 2', async () => {
  const weights: Float32Array[][] = [];
  for (const [batchSize, gradAccum] of [[2, 1], [1, 2]]) {
    const s = await setup({
      data: { batchSize },
      model: { options: { baseWidth: 4, depth: 2, batchNorm: false } },
      optimizer: { name: 'sgd', lr: 0.5, momentum: 0 },
      train: { iterations: 1, gradAccum },
    });
    try {
      await s.trainer.fit();
      weights.push(s.model.parameters().map((p) => Float32Array.from(p.toArray() as number[])));
    } finally {
      await s.close();
    }
  }
  const [a, b] = weights as [Float32Array[], Float32Array[]];
  let maxDiff = 0;
  let moved = 0;
  a.forEach((w, i) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - b[i]![j]!)))));
  assert.ok(maxDiff < 1e-5, `weights differ by up to ${maxDiff}`);
  // and the step was not a no-op: compare with the initial weights of the same seed
  const cfg = config({ model: { options: { baseWidth: 4, depth: 2, batchNorm: false } } });
  const init = buildModel(cfg, { numClasses: 4, ignoreIndex: 255 });
  init.parameters().forEach((p, i) => (p.toArray() as number[]).forEach((v, j) => (moved = Math.max(moved, Math.abs(v - a[i]![j]!)))));
  init.dispose();
  assert.ok(moved > 1e-3, `the step moved the weights by only ${moved}`);
});

test('best.safetensors follows val.metric, and early stopping ends the run after `patience` validations without improvement', async () => {
  const values = [0.5, 0.7, 0.6, 0.65, 0.9, 0.9];
  let v = 0;
  const s = await setup({ train: { iterations: undefined, epochs: 10 }, earlyStopping: { patience: 2 } }, {
    evaluator: () => {
      let seen = false;
      return { update: () => void (seen = true), compute: () => ({ miou: seen ? values[v++]! : NaN, pixelAccuracy: 1 }) };
    },
  });
  try {
    const r = await s.trainer.fit();
    const perEpoch = 5;
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.step, 4 * perEpoch);
    assert.deepEqual(r.best, { metric: 'miou', value: 0.7, step: 2 * perEpoch, epoch: 2 });
    const best = readSafetensors(join(s.trainer.runDir, 'best.safetensors')).metadata;
    assert.deepEqual([best.metric, best.value, best.step], ['miou', '0.7', '10']);
    // enough to rebuild the model and its inputs without the run folder
    assert.deepEqual([best['segkit.model'], JSON.parse(best['segkit.options']!), JSON.parse(best['segkit.normalize']!)], ['unet', { baseWidth: 4, depth: 2, numClasses: 4 }, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }]);
    const log = JsonlLog.read(s.trainer.log.file);
    assert.deepEqual(log.filter((x) => x.type === 'val').map((x) => (x.metrics as { miou: number }).miou), [0.5, 0.7, 0.6, 0.65]);
    assert.match(String(log.find((x) => x.type === 'stop')?.reason), /no miou improvement in 2 validations/);
    const final = JSON.parse(readFileSync(join(s.trainer.checkpointDir, 'step-00000020', 'state.json'), 'utf8')) as { finished: boolean; sinceBest: number };
    assert.deepEqual([final.finished, final.sinceBest], [true, 2]);
  } finally {
    await s.close();
  }
});

test('the reduceGradients hook (data-parallel all-reduce point) runs once per optimizer step, between backward and the update', async () => {
  let calls = 0;
  let before: Map<string, string> | undefined;
  let s: Setup | undefined;
  s = await setup({ optimizer: { name: 'sgd', lr: 0.1, momentum: 0 }, train: { iterations: 2, gradAccum: 2 } }, {
    hooks: {
      reduceGradients(params) {
        if (calls++ === 0) before = snapshot(s!.model, s!.optimizer);
        assert.ok(params.length > 0);
        for (const p of params) {
          const g = p.grad;
          if (!g) continue;
          noGrad(() => g.zero_()); // a reduction that cancels every gradient: SGD then changes nothing
          g.dispose();
        }
      },
    },
  });
  try {
    await s.trainer.fit();
    assert.equal(calls, 2, 'once per optimizer step (2 steps of 2 accumulated batches)');
    const after = snapshot(s.model, s.optimizer);
    for (const [k, v] of before!) if (!k.includes('running_') && !k.includes('num_batches')) assert.equal(after.get(k), v, `${k} changed`);
  } finally {
    await s.close();
  }
});

test('scheduler plateau lowers the lr after validations without improvement', async () => {
  const s = await setup({ train: { iterations: undefined, epochs: 3 }, optimizer: { lr: 0.01 }, scheduler: { name: 'plateau', patience: 0, gamma: 0.5 } }, {
    evaluator: () => ({ update() {}, compute: () => ({ miou: 0.5 }) }),
  });
  try {
    await s.trainer.fit();
    const lrs = JsonlLog.read(s.trainer.log.file).filter((r) => r.type === 'train').map((r) => [r.epoch, r.lr]);
    assert.deepEqual([...new Set(lrs.map(([e, lr]) => `${e}:${lr}`))], ['1:0.01', '2:0.01', '3:0.005']);
  } finally {
    await s.close();
  }
});

test('a val.metric the evaluator does not report fails before training, naming the ones it does', async () => {
  await assert.rejects(setup({ val: { metric: 'dice' } }), /val\.metric: 'dice' is not among the metrics the evaluator reports: .*miou.*pixelAccuracy.*; per class or nested: .*iou\.<background\|\.\.\.>/);
});

test('config errors found while building name their key: data.path, model.name, model.options', async () => {
  await assert.rejects(buildData(config({ data: { path: join(tmp, 'nope') } })), /^Error: data\.path: .*nope does not exist/);
  const task = { numClasses: 4, ignoreIndex: 255 };
  assert.throws(() => buildModel(config({ model: { name: 'resnet18' } }), task), /model\.name: 'resnet18' is a classification network, not a segmentation model; segmentation models: .*unet/);
  assert.throws(() => buildModel(config({ model: { name: 'unett' } }), task), /model\.name: unknown model 'unett'; did you mean 'unet'/);
  assert.throws(() => buildModel(config({ model: { options: { bogus: 1 } } }), task), /model\.options: unet: unknown option bogus/);
});

test('the config loss runs the spec: weighted cross-entropy terms, the aux head at auxWeight, the ignore index', () => {
  const cfg = config({ loss: { auxWeight: 0.25, terms: [{ name: 'ce', weight: 2, labelSmoothing: 0.1 }] } });
  const loss = defaultLoss(cfg, { numClasses: 4, ignoreIndex: 255 });
  try {
    tidy(() => {
      manualSeed(0);
      const out = randn([2, 4, 3, 3]);
      const aux = randn([2, 4, 3, 3]);
      const target = tensor([0, 1, 2, 3, 255, 1, 2, 3, 0, 1, 1, 1, 2, 2, 2, 3, 3, 255], { shape: [2, 3, 3], dtype: 'int64' });
      const r = loss({ out, aux }, target);
      const ce = (x: typeof out) => F.crossEntropy(x, target, { ignoreIndex: 255, labelSmoothing: 0.1 }).item();
      assert.deepEqual(Object.keys(r.terms!), ['ce', 'aux.ce']);
      assert.ok(Math.abs(r.total.item() - (2 * ce(out) + 0.25 * 2 * ce(aux))) < 1e-5);
      const term = (v: unknown) => (typeof v === 'number' ? v : (v as typeof out).item());
      assert.ok(Math.abs(term(r.terms!.ce) - ce(out)) < 1e-6);
      assert.ok(Math.abs(term(r.terms!['aux.ce']) - ce(aux)) < 1e-6);
    });
  } finally {
    loss.dispose?.();
  }
});

test('flattenMetrics turns a metrics object into flat names (per-class by class name, nested by prefix), leaving matrices out', () => {
  const flat = flattenMetrics({ miou: 0.5, iou: [1, Number.NaN], perImage: { miou: 0.25, dice: [0.5, 0.75] }, matrix: [[1, 2], [3, 4]], note: 'x' }, ['bg', 'fg']);
  assert.deepEqual(Object.keys(flat), ['miou', 'iou.bg', 'iou.fg', 'perImage.miou', 'perImage.dice.bg', 'perImage.dice.fg']);
  assert.deepEqual([flat.miou, flat['iou.bg'], flat['perImage.dice.fg']], [0.5, 1, 0.75]);
  assert.ok(Number.isNaN(flat['iou.fg']));
  // ConfusionMatrix.compute()'s shape: configuration echoes and class-id lists are not metrics
  const cm = flattenMetrics({ numClasses: 2, ignoreIndex: 255, miou: 0.5, absent: [1], support: [10, 0], perImage: { iou: [0.5, 1] } });
  assert.deepEqual(cm, { miou: 0.5, 'support.0': 10, 'support.1': 0, 'perImage.iou.0': 0.5, 'perImage.iou.1': 1 });
});

test('interrupt() stops with a checkpoint; resuming an interruption at the last step finishes the run and marks it finished', async () => {
  const name = `int${runs++}`;
  let s: Setup | undefined;
  s = await setup({ name, train: { iterations: 4 } } as Over, { hooks: { onRecord: (r) => r.type === 'train' && r.step === 4 && s!.trainer.interrupt() } });
  try {
    const r = await s.trainer.fit();
    assert.deepEqual([r.interrupted, r.step], [true, 4]);
  } finally {
    await s.close();
  }
  const dir = join(tmp, 'runs', name);
  assert.ok(!existsSync(join(dir, 'last.safetensors')), 'an interrupted run has not finished');
  const state = () => JSON.parse(readFileSync(join(dir, 'checkpoints', 'step-00000004', 'state.json'), 'utf8')) as { finished: boolean };
  assert.equal(state().finished, false);
  const again = await setup({ name, train: { iterations: 4 } } as Over);
  try {
    const r = await again.trainer.fit({ resume: true });
    assert.deepEqual([r.interrupted, r.step], [false, 4]);
  } finally {
    await again.close();
  }
  assert.equal(state().finished, true);
  assert.ok(existsSync(join(dir, 'last.safetensors')));
});

test('binary data with loss.output sigmoid: one output channel, bce + dice, binary metrics', async () => {
  const dir = join(tmp, 'binary');
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'masks'), { recursive: true });
  for (let i = 0; i < 6; i++) {
    const img = Buffer.alloc(16 * 16 * 3);
    const mask = Buffer.alloc(16 * 16);
    for (let p = 0; p < 256; p++) {
      const fg = (p % 16) + Math.floor(p / 16) < 12 + i;
      mask[p] = fg ? 1 : 0;
      img.fill(fg ? 200 : 40, p * 3, p * 3 + 3);
    }
    await sharp(img, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'images', `${i}.png`));
    await sharp(mask, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, 'masks', `${i}.png`));
  }
  const cfg = config({
    data: { path: dir, numClasses: 2, splitRatios: [2, 1] },
    loss: { output: 'sigmoid', terms: [{ name: 'bce' }, { name: 'dice', weight: 0.5 }] },
    train: { iterations: 2 },
    val: { metric: 'binaryDice' },
  });
  const r = await runTraining(cfg, { print: () => {} });
  const log = JsonlLog.read(join(cfg.outDir, cfg.name, 'train.jsonl'));
  const terms = log.filter((x) => x.type === 'train').map((x) => x.terms as Record<string, number>);
  assert.ok(terms.every((t) => Number.isFinite(t.bce) && Number.isFinite(t.dice)), JSON.stringify(terms));
  assert.equal(typeof r.lastMetrics?.binaryDice, 'number');
  assert.equal(readSafetensors(join(cfg.outDir, cfg.name, 'last.safetensors')).tensors.get('head.weight')?.shape[0], 1, 'one output channel');
  assert.throws(() => buildModel(cfg, { numClasses: 3, ignoreIndex: 255 }), /loss\.output: 'sigmoid' \(one output channel\) is for binary data, but this dataset has 3 classes/);
});

test('ModelEma: each update moves the average by (1 - decay) towards the model; integer buffers are copied', () => {
  const model = new BatchNorm2d(2);
  const shadow = new BatchNorm2d(2);
  noGrad(() => model.stateDict().get('weight')!.fill_(3));
  const ema = new ModelEma(shadow, model, 0.9);
  try {
    assert.deepEqual(shadow.stateDict().get('weight')!.toArray(), [3, 3], 'the average starts as a copy of the model');
    noGrad(() => {
      model.stateDict().get('weight')!.add_(1); // 4
      model.stateDict().get('num_batches_tracked')!.add_(5);
    });
    ema.update(model); // the shadow started from 3
    const w = shadow.stateDict().get('weight')!.toArray() as number[];
    w.forEach((x) => assert.ok(Math.abs(x - 3.1) < 1e-6, `weight ${x}, expected 0.9 * 3 + 0.1 * 4`));
    assert.equal(shadow.stateDict().get('num_batches_tracked')!.item(), 5);
    assert.equal(shadow.stateDict().get('weight')!.requiresGrad, false);
    const other = new BatchNorm2d(2);
    assert.throws(() => new ModelEma(other, model, 1), /decay must be in \(0, 1\)/);
    other.dispose();
  } finally {
    ema.dispose();
    model.dispose();
  }
});

test('amp: bfloat16 autocast trains with finite losses and float32 weights', async () => {
  const s = await setup({ train: { iterations: 2, amp: true } });
  try {
    await s.trainer.fit();
    const losses = JsonlLog.read(s.trainer.log.file).filter((r) => r.type === 'train').map((r) => r.loss as number);
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(s.model.parameters().every((p) => p.dtype === 'float32'));
    // 2 steps end mid-epoch, before any epoch-end validation: the final weights are validated once
    assert.deepEqual(JsonlLog.read(s.trainer.log.file).filter((r) => r.type === 'val').map((r) => r.step), [2]);
  } finally {
    await s.close();
  }
});

test("train.amp 'auto': times both precisions on the first batch, records the choice, and trains exactly as that choice set by hand", async () => {
  const auto = config({ train: { iterations: 3, amp: 'auto' }, checkpoint: { every: 1, unit: 'iteration' } });
  await runTraining(auto, { print: () => {} });
  const dir = join(auto.outDir, auto.name);
  const rec = JsonlLog.read(join(dir, 'train.jsonl')).find((r) => r.type === 'amp')!;
  assert.ok(rec, 'an amp record in train.jsonl');
  assert.ok((rec.cpuMsFloat32 as number) > 0 && (rec.cpuMsBfloat16 as number) > 0);
  assert.equal(rec.choice, (rec.cpuMsBfloat16 as number) < 0.9 * (rec.cpuMsFloat32 as number) ? 'bfloat16' : 'float32');
  const state = JSON.parse(readFileSync(join(dir, 'checkpoints', readdirSync(join(dir, 'checkpoints')).sort().at(-1)!, 'state.json'), 'utf8'));
  assert.equal(state.amp, rec.choice === 'bfloat16', 'the checkpoint keeps the choice for --resume');
  // the measurement leaves nothing behind: the same run with the choice written in the config
  const fixed = config({ train: { iterations: 3, amp: rec.choice === 'bfloat16' } });
  await runTraining(fixed, { print: () => {} });
  const a = readSafetensors(join(dir, 'last.safetensors')).tensors;
  const b = readSafetensors(join(fixed.outDir, fixed.name, 'last.safetensors')).tensors;
  for (const [k, t] of a) assert.ok(Buffer.from(t.data).equals(Buffer.from(b.get(k)!.data)), `${k} differs`);
});

test('train.gradScaler on (float32, CPU): power-of-two loss scaling changes no weight, and the checkpoint keeps the scale', async () => {
  const scaled = config({ train: { iterations: 3, gradScaler: true, gradClip: 1 }, checkpoint: { every: 1, unit: 'iteration' } });
  await runTraining(scaled, { print: () => {} });
  const dir = join(scaled.outDir, scaled.name);
  const state = JSON.parse(readFileSync(join(dir, 'checkpoints', readdirSync(join(dir, 'checkpoints')).sort().at(-1)!, 'state.json'), 'utf8'));
  assert.deepEqual([state.gradScaler.scale, state.gradScaler._growth_tracker], [2 ** 16, 3]);
  const plain = config({ train: { iterations: 3, gradScaler: false, gradClip: 1 } });
  await runTraining(plain, { print: () => {} });
  const a = readSafetensors(join(dir, 'last.safetensors')).tensors;
  const b = readSafetensors(join(plain.outDir, plain.name, 'last.safetensors')).tensors;
  for (const [k, t] of a) assert.ok(Buffer.from(t.data).equals(Buffer.from(b.get(k)!.data)), `${k} differs`);
});

test('train.gradScaler: a step whose scaled gradients overflow is skipped (weights and optimizer unchanged), the scale halves, and training goes on', async () => {
  const states = new Map<number, Map<string, string>>();
  let s: Setup | undefined;
  // a finite loss of ~1e34 overflows float32 once multiplied by the scale 65536
  const hugeOn2 = (base: LossFn): LossFn => {
    let n = 0;
    return (out, target) => {
      const r = base(out, target);
      return ++n === 2 ? { total: r.total.mul(1e34), terms: {} } : r;
    };
  };
  s = await setup({ train: { gradScaler: true } }, {
    wrap: hugeOn2,
    hooks: { onRecord: (r) => r.type === 'train' && states.set(r.step as number, snapshot(s!.model, s!.optimizer)) },
  });
  try {
    const result = await s.trainer.fit();
    assert.equal(result.step, 4);
    assert.equal(result.skipped, 0, 'an overflow is not a bad batch');
    // the forward was finite, so its BatchNorm statistics stay (as with PyTorch's GradScaler)
    const learned = (m: Map<string, string>) => new Map([...m].filter(([k]) => !/running_|num_batches/.test(k)));
    assert.deepEqual(learned(states.get(2)!), learned(states.get(1)!), 'the overflowed step 2 changed the weights or the optimizer');
    assert.notDeepEqual(states.get(3), states.get(2), 'step 3 trained');
    const log = JsonlLog.read(s.trainer.log.file);
    const rec = log.find((r) => r.type === 'scale')!;
    assert.deepEqual([rec.step, rec.overflow, rec.scale], [2, true, 2 ** 15]);
    assert.ok(Number.isFinite(log.find((r) => r.type === 'train' && r.step === 2)!.loss as number), 'the logged loss is the unscaled, finite one');
    assert.equal(s.trainer.scaler.getScale(), 2 ** 15);
  } finally {
    await s.close();
  }
});

test("device: 'auto' trains on the CPU without CUDA; 'cuda' without it is refused naming the key and the fix; a bad name lists the valid ones", async () => {
  assert.equal(trainDevice(config({})), cudaAvailable() ? 'cuda:0' : 'cpu');
  if (!cudaAvailable()) assert.throws(() => trainDevice(config({ device: 'cuda' } as Over)), /^Error: device: 'cuda' asked for, but the linked libtorch has no CUDA.*set device: cpu/);
  assert.throws(() => config({ device: 'gpu' } as Over), /device.*auto, cpu, cuda or cuda:N/s);
});

test('runTraining writes runs/<name>/: config.json, train.jsonl (loss and scheduled lr per step, metrics per validation), TensorBoard scalars, checkpoints, best, last, samples and report.html', async () => {
  const cfg = config({
    train: { iterations: 6 },
    scheduler: { name: 'cosine' },
    optimizer: { lr: 0.01 },
    val: { every: 3, unit: 'iteration' },
    checkpoint: { every: 2, unit: 'iteration', keep: 1 },
  });
  const lines: string[] = [];
  const r = await runTraining(cfg, { print: (l) => lines.push(l) });
  const dir = join(cfg.outDir, cfg.name);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), JSON.parse(JSON.stringify(cfg)));
  const log = JsonlLog.read(join(dir, 'train.jsonl'));
  const train = log.filter((x) => x.type === 'train');
  assert.deepEqual(train.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  assert.ok(train.every((x) => Number.isFinite(x.loss) && typeof x.lr === 'number'));
  // cosine from 0.01 to 0 over 6 steps: step k (1-based) runs at 0.005 * (1 + cos(pi (k - 1) / 6))
  train.forEach((x) => assert.ok(Math.abs((x.lr as number) - 0.005 * (1 + Math.cos((Math.PI * ((x.step as number) - 1)) / 6))) < 1e-9, `lr at step ${x.step}: ${x.lr}`));
  const vals = log.filter((x) => x.type === 'val');
  assert.deepEqual(vals.map((x) => x.step), [3, 6]);
  assert.ok(vals.every((x) => typeof (x.metrics as Record<string, number>).miou === 'number'));
  assert.deepEqual(listCheckpoints(join(dir, 'checkpoints')), [6], 'keep: 1 leaves only the newest checkpoint');
  assert.ok(existsSync(join(dir, 'best.safetensors')) && existsSync(join(dir, 'last.safetensors')));
  const samples = await readImage(join(dir, 'samples.png'));
  assert.deepEqual([samples.width, samples.height], [3 * 32, 2 * 32], 'two val images as image | truth | prediction rows');
  const report = readFileSync(join(dir, 'report.html'), 'utf8');
  for (const part of ['<h2>Curves</h2>', '<h2>Per class</h2>', '<h2>Confusion matrix</h2>', '<h2>Predictions</h2>', 'training loss', 'learning rate', 'validation', '>circle<']) assert.ok(report.includes(part), `report.html lacks ${part}`);
  const summary = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { step: number; best: { metric: string; step: number }; last: { miou: number } };
  assert.deepEqual([summary.step, summary.best.metric, typeof summary.last.miou], [6, 'miou', 'number']);
  assert.equal(r.step, 6);
  assert.match(lines.join('\n'), /finished .* at step 6/);
  // TensorBoard scalars mirror the JSONL records
  const tb = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
  assert.equal(tb.length, 1);
  const scalars = readScalars(join(dir, tb[0]!));
  const tbLoss = scalars.filter((e) => e.tag === 'train/loss').map((e) => [e.step, e.value]);
  assert.deepEqual(tbLoss, train.map((x) => [x.step, Math.fround(x.loss as number)]));
  assert.deepEqual(scalars.filter((e) => e.tag === 'val/miou').map((e) => e.step), [3, 6]);
  // the last weights load back into the same architecture
  const model = buildModel(cfg, { numClasses: 4, ignoreIndex: 255 });
  const res = model.loadStateDict(readSafetensors(join(dir, 'last.safetensors')).tensors);
  assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
  model.dispose();
});
