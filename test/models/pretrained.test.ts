// loadPretrained with the files users have: torchvision state dicts (saved by Debian's torchvision
// 0.14 through test/fixtures/models/gen_torchvision.py) loaded into models that differ from the
// one that saved them. What fits is loaded value for value; every other key is reported with its
// reason; ImageNet classifiers fill a segmentation backbone; a first conv for 1, 2 or 4 input
// channels follows segmentation_models_pytorch's patch_first_conv (encoders/_utils.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readWeights, type RawTensor } from '../../src/io/index.js';
import { create, describeLoad, loadPretrained, type LoadReport } from '../../src/models/index.js';
import type { Module } from '../../src/nn/index.js';
import { checkLeaksEachTest } from '../leak.js';
import { generated } from './generated.js';

checkLeaksEachTest();

const dir = generated(['models', 'gen_torchvision.py'], ['resnet50', 'mobilenet_v3_large', 'deeplabv3_resnet50', 'lraspp_mobilenet_v3_large']);
const file = (name: string): string => join(dir, `${name}.pth`);

const same = (a: torch.Tensor, b: RawTensor | torch.Tensor): boolean =>
  torch.tidy(() => Boolean(a.eq(b instanceof torch.Tensor ? b : torch.fromRaw(b)).all().item()));

/** Every `loaded` key has the file's value in the model (under `prefix` in the file). */
function assertLoaded(model: Module, fileSd: Map<string, RawTensor>, keys: string[], prefix = ''): void {
  const sd = model.stateDict();
  for (const k of keys) {
    const want = fileSd.get(prefix + k);
    assert.ok(want !== undefined, `${prefix + k} is not in the file`);
    assert.ok(same(sd.get(k)!, want), `${k} does not hold the file's ${prefix + k}`);
  }
}

const reasons = (r: LoadReport): Record<string, string> => Object.fromEntries(r.skipped.map((s) => [s.key, s.reason]));

test('another class count: the head is skipped for its shape and keeps its initialisation; the file aux head is reported; the rest loads value for value', () => {
  const path = file('deeplabv3_resnet50'); // torchvision: 21 classes, aux head
  const fileSd = readWeights(path);
  const model = create('deeplabv3_resnet50', { numClasses: 5 });
  const head = torch.noGrad(() => model.stateDict().get('classifier.4.weight')!.clone());
  const r = loadPretrained(model, path);

  assert.equal(r.source, path);
  const why = reasons(r);
  assert.match(why['classifier.4.weight'], /^shape \[21, 256, 1, 1\] in the file, \[5, 256, 1, 1\] here \(another number of classes: this layer keeps its new initialisation\)$/);
  assert.match(why['classifier.4.bias'], /^shape \[21\] in the file, \[5\] here \(another number of classes/);
  const aux = [...fileSd.keys()].filter((k) => k.startsWith('aux_classifier.'));
  assert.ok(aux.length > 0);
  for (const k of aux) assert.equal(why[k], "not in this model (it has no 'aux_classifier'; build it with auxLoss: true to keep that head)", k);
  assert.deepEqual(Object.keys(why).sort(), ['classifier.4.bias', 'classifier.4.weight', ...aux].sort());
  assert.deepEqual(r.missing, [], 'a key skipped for its shape is reported once, as skipped');
  assert.deepEqual(r.adapted, []);
  const expectLoaded = [...model.stateDict().keys()].filter((k) => !k.startsWith('classifier.4.'));
  assert.deepEqual([...r.loaded].sort(), [...expectLoaded].sort());
  assertLoaded(model, fileSd, r.loaded);
  assert.ok(same(model.stateDict().get('classifier.4.weight')!, head), 'the new head was overwritten');

  const text = describeLoad(r);
  assert.match(text, new RegExp(`: loaded ${r.loaded.length} tensors, skipped ${r.skipped.length}\n`));
  assert.match(text, /skipped classifier\.4\.weight: shape \[21, 256, 1, 1\]/);
  assert.match(text, new RegExp(`skipped aux_classifier\\.\\* \\(${aux.length} keys\\): not in this model \\(it has no 'aux_classifier'`));
  head.dispose();
  model.dispose();
});

test('a state dict without the aux head and with an extra key: aux reported missing, the extra key skipped, everything else loaded', () => {
  const fileSd = readWeights(file('deeplabv3_resnet50'));
  const given = new Map<string, RawTensor | torch.Tensor>([...fileSd].filter(([k]) => !k.startsWith('aux_classifier.')));
  const extra = torch.zeros([3]);
  given.set('decoder.extra.weight', extra);
  const model = create('deeplabv3_resnet50', { numClasses: 21, auxLoss: true });
  const r = loadPretrained(model, given);
  assert.equal(r.source, 'state dict');
  assert.deepEqual(r.skipped, [{ key: 'decoder.extra.weight', reason: "not in this model (it has no 'decoder')" }]);
  assert.deepEqual(r.missing, [...model.stateDict().keys()].filter((k) => k.startsWith('aux_classifier.')));
  assert.equal(r.loaded.length, given.size - 1);
  assertLoaded(model, fileSd, r.loaded);
  extra.dispose();
  model.dispose();
});

test("prefixes: a whole file under 'module.' or 'model.' loads; stripPrefix works for files and state dicts; mixed prefixes are not guessed", () => {
  const fileSd = readWeights(file('lraspp_mobilenet_v3_large'));
  const model = create('lraspp_mobilenet_v3_large');
  const n = model.stateDict().size;
  for (const prefix of ['module.', 'model.']) {
    const r = loadPretrained(model, new Map([...fileSd].map(([k, v]) => [prefix + k, v])));
    assert.equal(r.loaded.length, n, `${prefix}: ${describeLoad(r)}`);
    assert.deepEqual([r.skipped, r.missing], [[], []]);
  }
  // a classifier's 'features.' prefix, given explicitly, for a Map as for a file
  const backbone = model.getSubmodule('backbone');
  const mobilenet = readWeights(file('mobilenet_v3_large'));
  const fromMap = loadPretrained(backbone, mobilenet, { stripPrefix: 'features.' });
  const fromFile = loadPretrained(backbone, file('mobilenet_v3_large'), { stripPrefix: 'features.' });
  for (const r of [fromMap, fromFile]) {
    assert.equal(r.loaded.length, backbone.stateDict().size, describeLoad(r));
    assert.deepEqual(r.missing, []);
  }
  assertLoaded(backbone, mobilenet, fromMap.loaded, 'features.');

  const mixed = new Map([...fileSd].map(([k, v], i) => [(i % 2 ? 'module.' : 'model.') + k, v]));
  const r = loadPretrained(model, mixed);
  assert.equal(r.loaded.length, 0);
  assert.equal(r.missing.length, n);
  assert.ok(r.skipped.every((s) => s.reason.startsWith('not in this model (it has no ')));
  model.dispose();
});

test('an ImageNet resnet50 file (torchvision, with fc) fills deeplabv3_resnet50: backbone gets every value, fc is skipped as the classifier head', () => {
  const path = file('resnet50');
  const fileSd = readWeights(path);
  const reports: LoadReport[] = [];
  const model = create('deeplabv3_resnet50', { numClasses: 4, weightsBackbone: path, onLoad: (r) => reports.push(r) });
  assert.equal(reports.length, 1);
  const [r] = reports;
  assert.deepEqual(r.skipped, [
    { key: 'fc.weight', reason: "the classifier's own head (not part of the backbone)" },
    { key: 'fc.bias', reason: "the classifier's own head (not part of the backbone)" },
  ]);
  assert.deepEqual([r.missing, r.adapted], [[], []]);
  const backbone = model.getSubmodule('backbone');
  assert.deepEqual([...r.loaded].sort(), [...backbone.stateDict().keys()].sort());
  assertLoaded(backbone, fileSd, r.loaded);
  assert.equal(fileSd.size, r.loaded.length + 2);

  // the same by hand: the model's backbone as the target, fc reported as not in it
  const direct = loadPretrained(backbone, path);
  const noFc = "not in this model (it has no 'fc')";
  assert.deepEqual(direct.skipped, [{ key: 'fc.weight', reason: noFc }, { key: 'fc.bias', reason: noFc }]);
  assert.equal(direct.loaded.length, r.loaded.length);
  model.dispose();
});

test('a file without num_batches_tracked (saved before PyTorch 0.4.1) reports nothing missing; the counters take 0 as in PyTorch', () => {
  const fileSd = readWeights(file('resnet50'));
  const old = new Map([...fileSd].filter(([k]) => !k.endsWith('.num_batches_tracked')));
  assert.ok(old.size < fileSd.size);
  const model = create('resnet50');
  torch.noGrad(() => model.stateDict().get('bn1.num_batches_tracked')!.fill_(5));
  const r = loadPretrained(model, old);
  assert.deepEqual(r.missing, []);
  assert.equal(model.stateDict().get('bn1.num_batches_tracked')!.item(), 0);
  model.dispose();
});

for (const name of ['deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large']) {
  test(`an ImageNet mobilenet_v3_large file fills ${name}'s backbone: 'features.' stripped, its classifier skipped`, () => {
    const path = file('mobilenet_v3_large');
    const fileSd = readWeights(path);
    const reports: LoadReport[] = [];
    const model = create(name, { numClasses: 3, weightsBackbone: path, onLoad: (r) => reports.push(r) });
    const [r] = reports;
    const head = [...fileSd.keys()].filter((k) => k.startsWith('classifier.'));
    assert.deepEqual(head, ['classifier.0.weight', 'classifier.0.bias', 'classifier.3.weight', 'classifier.3.bias']);
    assert.deepEqual(r.skipped.map((s) => s.key), head);
    assert.ok(r.skipped.every((s) => s.reason === "the classifier's own head (not part of the backbone)"));
    const backbone = model.getSubmodule('backbone');
    assert.deepEqual([r.missing, r.adapted], [[], []]);
    assert.deepEqual([...r.loaded].sort(), [...backbone.stateDict().keys()].sort());
    assertLoaded(backbone, fileSd, r.loaded, 'features.');
    model.dispose();
  });
}

/** smp's patch_first_conv written out: channel i of the new weight is RGB filter i % 3, times 3 / C (C = 1: the sum). */
function smpFirstConv(w: torch.Tensor, channels: number): torch.Tensor {
  if (channels === 1) return w.sum(1, true);
  const cols = Array.from({ length: channels }, (_, i) => w.narrow(1, i % 3, 1));
  return torch.cat(cols, 1).mul(3 / channels);
}

for (const channels of [1, 2, 4]) {
  test(`inChannels ${channels}: the RGB first conv is adapted as smp's patch_first_conv; the rest loads unchanged`, () => {
    const path = file('resnet50');
    const fileSd = readWeights(path);
    const reports: LoadReport[] = [];
    const model = create('deeplabv3_resnet50', { inChannels: channels, weightsBackbone: path, onLoad: (r) => reports.push(r) });
    const [r] = reports;
    const how = channels === 1 ? 'summed' : `repeated and scaled by 3/${channels}`;
    assert.deepEqual(r.adapted, [{ key: 'conv1.weight', reason: `3 input channels in the file, ${channels} here: ${how}` }]);
    assert.deepEqual(r.missing, []);
    assert.ok(r.loaded.includes('conv1.weight'));
    const got = model.stateDict().get('backbone.conv1.weight')!;
    assert.deepEqual(got.shape, [64, channels, 7, 7]);
    torch.tidy(() => {
      const want = smpFirstConv(torch.fromRaw(fileSd.get('conv1.weight')!), channels);
      const err = got.sub(want).abs().max().item();
      assert.ok(err < 1e-6, `conv1.weight differs from smp's rule by ${err}`);
    });
    assertLoaded(model.getSubmodule('backbone'), fileSd, r.loaded.filter((k) => k !== 'conv1.weight'));
    model.eval();
    torch.tidy(() => {
      const { out } = model.call(torch.randn([1, channels, 33, 35])) as { out: torch.Tensor };
      assert.deepEqual(out.shape, [1, 21, 33, 35]);
    });
    model.dispose();
  });
}

test('one channel: a grey image gives what the RGB model gives for the same image in three channels', () => {
  const path = file('resnet50');
  const rgb = create('resnet50', { weights: path }).eval();
  const grey = create('resnet50', { inChannels: 1, weights: path, onLoad: () => {} }).eval();
  torch.tidy(() => {
    const x = torch.rand([2, 1, 64, 64]);
    const a = torch.noGrad(() => grey.call(x) as torch.Tensor);
    const b = torch.noGrad(() => rgb.call(x.expand([2, 3, 64, 64])) as torch.Tensor);
    const err = a.sub(b).abs().max().item() / b.abs().max().item();
    assert.ok(err < 1e-4, `relative difference ${err}`);
  });
  rgb.dispose();
  grey.dispose();
});

test('other shape mismatches are skipped with both shapes; ignore skips with its own reason', () => {
  const model = create('resnet18', { numClasses: 10 });
  const w = torch.zeros([64, 3, 3, 3]);
  const fc = torch.zeros([10, 512]);
  const r = loadPretrained(model, new Map([['conv1.weight', w], ['fc.weight', fc]]), { ignore: { test: (k) => k.startsWith('fc.'), reason: 'a new head' } });
  assert.deepEqual(r.skipped, [
    { key: 'conv1.weight', reason: 'shape [64, 3, 3, 3] in the file, [64, 3, 7, 7] here' },
    { key: 'fc.weight', reason: 'a new head' },
  ]);
  assert.deepEqual(r.loaded, []);
  assert.equal(r.missing.length, model.stateDict().size - 2, 'the two skipped keys are reported once, as skipped');
  w.dispose();
  fc.dispose();
  model.dispose();
});
