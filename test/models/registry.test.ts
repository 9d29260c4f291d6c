// models.create by reference name, as configs and the CLI use it: the torchvision names are all
// there; a misspelt name or option is an error that names it and what would work; a torchvision
// weight name resolves to torch.hub's cache under $TORCH_HOME (a file already there is used as it
// is, without the network; a missing one gets one message saying which file to put where).
// The cached file here is the lraspp_mobilenet_v3_large state dict that Debian's torchvision 0.14
// writes in test/fixtures/models/gen_torchvision.py, at the real shapes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readWeights, saveWeights } from '../../src/io/index.js';
import { DownloadUnavailableError } from '../../src/io/download.js';
import { create, createAsync, listModels, modelEntry, register, weightsOf, type LoadReport } from '../../src/models/index.js';
import { Conv2d, Module } from '../../src/nn/index.js';
import { checkLeaksEachTest } from '../leak.js';
import { generated } from './generated.js';

checkLeaksEachTest();

const fixtures = generated(['models', 'gen_torchvision.py'], ['resnet50', 'lraspp_mobilenet_v3_large']);

const TORCHVISION = [
  'resnet18', 'resnet34', 'resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large',
  'fcn_resnet50', 'fcn_resnet101', 'deeplabv3_resnet50', 'deeplabv3_resnet101', 'deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large',
];

let root: string;
let saved: string | undefined;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'segkit-registry-'));
  saved = process.env.TORCH_HOME;
});
after(() => {
  if (saved === undefined) delete process.env.TORCH_HOME;
  else process.env.TORCH_HOME = saved;
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh empty TORCH_HOME for this process; returns its checkpoints folder (not created). */
function freshTorchHome(): string {
  process.env.TORCH_HOME = join(root, `torch${n++}`);
  return join(process.env.TORCH_HOME, 'hub', 'checkpoints');
}
const noFetch: typeof fetch = async (input) => assert.fail(`the network was used: ${String(input)}`);

test('listModels: every torchvision builder name, by kind', () => {
  const names = listModels().map((e) => e.name);
  for (const name of TORCHVISION) assert.ok(names.includes(name), `${name} is not registered`);
  const semantic = listModels('semantic').map((e) => e.name);
  assert.deepEqual(semantic.filter((s) => TORCHVISION.includes(s)), TORCHVISION.slice(6));
  assert.ok(listModels('classification').every((e) => e.kind === 'classification'));
  for (const e of listModels()) assert.ok(e.description.length > 0 && e.reference.length > 0, `${e.name} lacks a description or reference`);
  assert.equal(modelEntry('deeplabv3_resnet50').backbone, 'backbone');
  assert.equal(modelEntry('DeepLabV3-ResNet50').name, 'deeplabv3_resnet50');
});

test('an unknown name lists the close names, then every model', () => {
  const check = (name: string, near: RegExp) =>
    assert.throws(() => create(name), (e: Error) => {
      assert.match(e.message, new RegExp(`^unknown model '${name}'; did you mean `));
      assert.match(e.message, near);
      assert.match(e.message, /Models: resnet18, .*lraspp_mobilenet_v3_large/);
      return true;
    });
  check('deeplabv3_resnet5', /did you mean 'deeplabv3_resnet50'/);
  check('deeplbv3_resnet50', /did you mean 'deeplabv3_resnet50'/); // a typo in the first word
  check('fcn_resnet', /did you mean 'fcn_resnet50', 'fcn_resnet101'/);
  check('lraspp', /did you mean 'lraspp_mobilenet_v3_large'\?/);
  assert.throws(() => create('segformer_b0'), /^Error: unknown model 'segformer_b0'\. Models: /);
});

test('an unknown option is refused by name, with the options the model takes', () => {
  assert.throws(() => create('deeplabv3_resnet50', { numClass: 3 }), /^Error: deeplabv3_resnet50: unknown option numClass; it takes numClasses, inChannels, auxLoss, weights, weightsBackbone, onLoad$/);
  assert.throws(() => create('fcn_resnet50', { num_classes: 3, aux_loss: true }), /fcn_resnet50: unknown options num_classes, aux_loss \(options are camelCase: num_classes → numClasses, aux_loss → auxLoss\);/);
  assert.throws(() => create('resnet50', { auxLoss: true }), /resnet50: unknown option auxLoss; it takes numClasses, inChannels, weights, weightsBackbone, onLoad/);
  assert.throws(() => create('resnet50', { weightsBackbone: 'DEFAULT' }), /resnet50 has no separate backbone to load weightsBackbone into; use weights/);
  assert.throws(() => create('lraspp_mobilenet_v3_large', { auxLoss: true }), /lraspp_mobilenet_v3_large has no auxiliary head/);
});

test("weights 'DEFAULT' with an empty TORCH_HOME: one message naming the file, where it goes and where it comes from; nothing leaks", async () => {
  const dir = freshTorchHome();
  const file = join(dir, 'deeplabv3_resnet50_coco-cd0a2569.pth');
  const url = 'https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth';
  assert.throws(() => create('deeplabv3_resnet50', { weights: 'DEFAULT' }), (e: Error) => {
    assert.equal(e.message, `deeplabv3_resnet50 weights COCO_WITH_VOC_LABELS_V1 are not in the cache (${file}). ` +
      `models.createAsync(...) downloads them from ${url}; offline, put that file there, or pass a .pth/.safetensors path as weights.`);
    return true;
  });
  assert.throws(() => create('fcn_resnet50', { weightsBackbone: 'DEFAULT' }), new RegExp(`resnet50 weights IMAGENET1K_V2 are not in the cache \\(${join(dir, 'resnet50-11ad3fa6.pth').replace(/[.]/g, '\\.')}\\)`));
  await assert.rejects(createAsync('deeplabv3_resnet50', { weights: 'DEFAULT', download: { offline: true, fetch: noFetch } }), (e: Error) => {
    assert.ok(e instanceof DownloadUnavailableError, String(e));
    assert.equal(e.file, file);
    assert.equal(e.url, url);
    assert.ok(e.message.includes(file), e.message);
    return true;
  });
  assert.throws(() => create('deeplabv3_resnet50', { weights: 'COCO_V9' }), /COCO_V9: no such weights file, and not a weight name of deeplabv3_resnet50 \(DEFAULT, COCO_WITH_VOC_LABELS_V1\)$/);
});

test('a file already in $TORCH_HOME/hub/checkpoints under its official name is used without the network', async () => {
  const dir = freshTorchHome();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fixtures, 'lraspp_mobilenet_v3_large.pth'), join(dir, 'lraspp_mobilenet_v3_large-d234d4ea.pth'));
  const { tensors } = readSafetensors(join(fixtures, 'lraspp_mobilenet_v3_large.safetensors'));
  const reports: LoadReport[] = [];
  const sync = create('lraspp_mobilenet_v3_large', { weights: 'DEFAULT', onLoad: (r) => reports.push(r) });
  const async = await createAsync('lraspp_mobilenet_v3_large', { weights: 'COCO_WITH_VOC_LABELS_V1', onLoad: (r) => reports.push(r), download: { fetch: noFetch } });
  for (const r of reports) {
    assert.equal(r.source, join(dir, 'lraspp_mobilenet_v3_large-d234d4ea.pth'));
    assert.deepEqual([r.skipped, r.missing, r.adapted], [[], [], []]);
  }
  for (const model of [sync, async]) {
    const info = weightsOf(model).weights;
    assert.equal(info?.name, 'COCO_WITH_VOC_LABELS_V1');
    assert.equal(info?.categories.length, 21);
    assert.equal(weightsOf(model).weightsBackbone, undefined);
    model.eval();
    torch.tidy(() => {
      const { out } = torch.inferenceMode(() => model.call(torch.fromRaw(tensors.get('x')!))) as { out: torch.Tensor };
      const err = out.sub(torch.fromRaw(tensors.get('out')!)).abs().max().item();
      assert.ok(err < 1e-4, `output differs from torchvision's by ${err}`);
    });
    model.dispose();
  }
});

test('weightsBackbone by name from the cache: ImageNet resnet50 V1 under fcn_resnet50, named in weightsOf', () => {
  const dir = freshTorchHome();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fixtures, 'resnet50.pth'), join(dir, 'resnet50-0676ba61.pth'));
  const reports: LoadReport[] = [];
  const model = create('fcn_resnet50', { numClasses: 2, weightsBackbone: 'IMAGENET1K_V1', onLoad: (r) => reports.push(r) });
  assert.deepEqual(reports.map((r) => r.skipped.map((s) => s.key)), [['fc.weight', 'fc.bias']]);
  assert.equal(weightsOf(model).weightsBackbone?.name, 'IMAGENET1K_V1');
  assert.equal(weightsOf(model).weights, undefined);
  const file = readWeights(join(dir, 'resnet50-0676ba61.pth'));
  torch.tidy(() => {
    assert.ok(Boolean(model.stateDict().get('backbone.layer4.2.conv3.weight')!.eq(torch.fromRaw(file.get('layer4.2.conv3.weight')!)).all().item()));
  });
  model.dispose();
});

class Tiny extends Module {
  declare conv: Conv2d;
  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv = new Conv2d(inChannels, numClasses, 1);
  }
  override forward(x: torch.Tensor): { out: torch.Tensor } {
    return { out: this.conv.call(x) };
  }
}

test('register: a new builder is created by name with its extra options and takes weights by path; a taken name is refused', () => {
  register({
    name: 'tiny_test', kind: 'semantic', reference: 'segkit', description: 'a 1x1 conv', extraOptions: ['scale'],
    build: (o) => new Tiny(o.inChannels ?? 3, (o.numClasses ?? 2) * ((o.scale as number | undefined) ?? 1)),
  });
  assert.ok(listModels('semantic').some((e) => e.name === 'tiny_test'));
  const model = create('tiny_test', { numClasses: 2, scale: 3 });
  assert.deepEqual(model.stateDict().get('conv.weight')!.shape, [6, 3, 1, 1]);
  assert.throws(() => create('tiny_test', { size: 3 }), /tiny_test: unknown option size; it takes .*, scale$/);
  assert.throws(() => register({ name: 'tiny_test', kind: 'semantic', reference: 'x', description: 'x', build: () => new Tiny(1, 1) }), /'tiny_test' is already registered/);

  // weights by path for a builder torchvision publishes no weights for
  const path = join(root, 'tiny.safetensors');
  torch.noGrad(() => model.stateDict().get('conv.weight')!.fill_(0.5));
  saveWeights(model, path);
  const loaded = create('tiny_test', { numClasses: 2, scale: 3, weights: path });
  torch.tidy(() => assert.equal(loaded.stateDict().get('conv.weight')!.sum().item(), 0.5 * 18));
  assert.throws(() => create('tiny_test', { weights: join(root, 'tiny.pth') }), /tiny\.pth: no such weights file$/);
  loaded.dispose();
  model.dispose();
});
