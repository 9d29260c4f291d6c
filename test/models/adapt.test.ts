// Adapting a model by parameter name, as users fine-tune: report 000 replaces DeepLabv3's last
// classifier layer with conv 3x3, BN, ReLU, Dropout(0.5), conv 1x1 and keeps the backbone; a
// frozen backbone gets no gradient; parameter groups train the backbone at 0.1x the lr with their
// own weight decay and hand every trainable parameter to the optimizer exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { create, freeze, matchesName, paramGroups, replaceModule, selectParameters, unfreeze } from '../../src/models/index.js';
import { BatchNorm2d, Conv2d, Dropout, ReLU, Sequential, takeChild, type Module } from '../../src/nn/index.js';
import { AdamW, SGD } from '../../src/optim/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const F = torch.F;

/** Copies of every state-dict entry (dispose with disposeAll). */
function snapshot(model: Module, keep: (key: string) => boolean = () => true): Map<string, torch.Tensor> {
  return torch.noGrad(() => new Map([...model.stateDict()].filter(([k]) => keep(k)).map(([k, t]) => [k, t.clone()])));
}
const disposeAll = (m: Map<string, torch.Tensor>): void => m.forEach((t) => t.dispose());
const equal = (a: torch.Tensor, b: torch.Tensor): boolean => torch.tidy(() => Boolean(a.eq(b).all().item()));
const absSum = (t: torch.Tensor): number => torch.tidy(() => t.abs().sum().item());

/** report 000's head: conv 3x3 256→256, BN, ReLU, Dropout(0.5), conv 1x1 to the classes. */
const report000Head = (numClasses: number): Sequential =>
  new Sequential(new Conv2d(256, 256, 3, { padding: 1 }), new BatchNorm2d(256), new ReLU(), new Dropout(0.5), new Conv2d(256, numClasses, 1));

/** One SGD step on random images and labels; returns the loss. */
function trainStep(model: Module, opt: SGD | AdamW, numClasses: number, size: [number, number] = [32, 32]): number {
  return torch.tidy(() => {
    opt.zeroGrad();
    const x = torch.randn([2, 3, ...size]);
    const target = torch.randint(0, numClasses, [2, ...size]);
    const loss = F.crossEntropy((model.call(x) as { out: torch.Tensor }).out, target);
    loss.backward();
    opt.step();
    return loss.item();
  });
}

test("report 000: classifier.4 replaced by conv-BN-ReLU-Dropout-conv; backbone unchanged, nc channels at input size, the new head learns", () => {
  torch.manualSeed(0);
  const nc = 6;
  const model = create('deeplabv3_resnet50', { numClasses: 21 });
  const before = snapshot(model, (k) => !k.startsWith('classifier.4.'));
  replaceModule(model, 'classifier.4', report000Head(nc));

  const keys = [...model.stateDict().keys()];
  assert.ok(!keys.includes('classifier.4.weight'), 'the old 1x1 conv is still in the state dict');
  const head = keys.filter((k) => k.startsWith('classifier.4.'));
  assert.deepEqual(head, [
    'classifier.4.0.weight', 'classifier.4.0.bias',
    'classifier.4.1.weight', 'classifier.4.1.bias', 'classifier.4.1.running_mean', 'classifier.4.1.running_var', 'classifier.4.1.num_batches_tracked',
    'classifier.4.4.weight', 'classifier.4.4.bias',
  ]);
  assert.deepEqual(model.stateDict().get('classifier.4.4.weight')!.shape, [nc, 256, 1, 1]);
  // every other entry is the same, value for value
  const sd = model.stateDict();
  assert.equal(keys.length - head.length, before.size);
  for (const [k, t] of before) assert.ok(equal(sd.get(k)!, t), `${k} changed when the head was replaced`);

  model.eval();
  torch.tidy(() => {
    const { out } = model.call(torch.randn([1, 3, 37, 29])) as { out: torch.Tensor };
    assert.deepEqual(out.shape, [1, nc, 37, 29]);
  });

  model.train();
  freeze(model, 'backbone'); // warm up the new head first (keeps this test fast)
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const headBefore = snapshot(model, (k) => k.startsWith('classifier.4.4.'));
  trainStep(model, opt, nc);
  for (const [k, p] of model.namedParameters().filter(([k]) => k.startsWith('classifier.4.'))) {
    torch.tidy(() => {
      const g = p.grad;
      assert.ok(g !== undefined && absSum(g) > 0, `${k}: no gradient reached the new head`);
    });
  }
  for (const [k, t] of headBefore) assert.ok(!equal(model.stateDict().get(k)!, t), `${k} did not change in a training step`);
  disposeAll(before);
  disposeAll(headBefore);
  opt.dispose();
  model.dispose(); // the leak check also proves replaceModule freed the old conv
});

test('replaceModule: the whole classifier, and paths that do not exist name the children', () => {
  const model = create('lraspp_mobilenet_v3_large', { numClasses: 3 });
  const backbone = snapshot(model, (k) => k.startsWith('backbone.'));
  const before = model.parameters().length;
  const old = model.getSubmodule('classifier');
  const donor = create('lraspp_mobilenet_v3_large', { numClasses: 5 });
  replaceModule(model, 'classifier', takeChild(donor, 'classifier')!);
  donor.dispose();
  assert.notEqual(model.getSubmodule('classifier'), old);
  assert.equal(model.parameters().length, before);
  for (const [k, t] of backbone) assert.ok(equal(model.stateDict().get(k)!, t), `${k} changed`);
  assert.throws(() => replaceModule(model, 'classifer', new ReLU()), /LRASPP has no child 'classifer' \(path 'classifer'\); its children are: backbone, classifier/);
  assert.throws(() => replaceModule(model, 'classifier.scale.9', new ReLU()), /Sequential has no child '9' \(path 'classifier\.scale\.9'\); its children are: 0, 1, 2/);
  disposeAll(backbone);
  model.dispose();
});

test("freeze('backbone.*'): no gradient for the backbone after backward, the heads get theirs; unfreeze brings layer4 back", () => {
  torch.manualSeed(1);
  const model = create('deeplabv3_resnet50', { numClasses: 3, auxLoss: true });
  const backboneCount = model.namedParameters().filter(([k]) => k.startsWith('backbone.')).length;
  assert.equal(freeze(model, 'backbone.*'), backboneCount);
  const run = (): void => {
    torch.tidy(() => {
      const y = model.call(torch.randn([2, 3, 32, 32])) as { out: torch.Tensor; aux: torch.Tensor };
      y.out.sum().add(y.aux.sum()).backward();
    });
  };
  run();
  for (const [k, p] of model.namedParameters()) {
    torch.tidy(() => {
      const g = p.grad;
      if (k.startsWith('backbone.')) {
        assert.equal(p.requiresGrad, false, `${k} still requires grad`);
        assert.equal(g, undefined, `${k} got a gradient although frozen`);
      } else {
        assert.equal(p.requiresGrad, true, `${k} was frozen`);
        assert.ok(g !== undefined, `${k} got no gradient`);
      }
    });
  }
  for (const p of model.parameters()) p.grad = undefined;

  assert.equal(unfreeze(model, 'backbone.layer4'), model.namedParameters().filter(([k]) => k.startsWith('backbone.layer4.')).length);
  run();
  for (const [k, p] of model.namedParameters().filter(([k]) => k.startsWith('backbone.'))) {
    torch.tidy(() => {
      const g = p.grad;
      const trainable = k.startsWith('backbone.layer4.');
      assert.equal(g !== undefined, trainable, `${k}: ${trainable ? 'no gradient after unfreeze' : 'a gradient while frozen'}`);
    });
  }
  model.dispose();
});

test('name patterns: exact name, module prefix (not a longer name), glob across dots, RegExp; a pattern matching nothing names it', () => {
  assert.ok(matchesName('backbone.layer1.0.conv1.weight', 'backbone'));
  assert.ok(matchesName('backbone.layer1.0.conv1.weight', 'backbone.layer1'));
  assert.ok(!matchesName('backbone.layer10.0.conv1.weight', 'backbone.layer1'));
  assert.ok(!matchesName('backbone_extra.weight', 'backbone'));
  assert.ok(matchesName('backbone.layer1.0.bn1.weight', '*.bn*.weight'));
  assert.ok(!matchesName('backbone.layer1.0.bn1.bias', '*.bn*.weight'));
  assert.ok(matchesName('classifier.4.weight', 'classifier.4.weight'));
  assert.ok(!matchesName('classifier.4.weight', 'classifier.4.w'));
  assert.ok(matchesName('aux_classifier.0.weight', /^aux_/));
  assert.ok(matchesName('x.weight', ['y', 'x']));

  const model = create('lraspp_mobilenet_v3_large', { numClasses: 2 });
  const all = model.namedParameters().length;
  assert.equal(selectParameters(model, 'backbone').length + selectParameters(model, 'classifier').length, all);
  // a global RegExp keeps state between test() calls in JavaScript: it must still match every name
  const g = selectParameters(model, /^backbone\./g);
  assert.equal(g.length, selectParameters(model, 'backbone').length);
  assert.equal(freeze(model, /^backbone\./g), g.length);
  assert.throws(() => freeze(model, 'backbone.layer9'), /no parameter of LRASPP matches 'backbone\.layer9'; its top-level names are: backbone, classifier/);
  assert.throws(() => selectParameters(model, ['backbone', 'encoder.*']), /matches 'encoder\.\*'/);
  model.dispose();
});

test('paramGroups: backbone at 0.1x lr with its own weight decay; SGD groups cover every trainable parameter once; a step uses each group lr', () => {
  torch.manualSeed(2);
  const model = create('deeplabv3_resnet50', { numClasses: 3, auxLoss: true });
  freeze(model, 'backbone.layer1'); // frozen parameters stay out of every group
  const groups = paramGroups(model, [{ params: 'backbone', lrScale: 0.1, weightDecay: 1e-4 }], { lr: 0.01 });
  const opt = new SGD(groups, { lr: 0.01, weightDecay: 5e-4 });
  assert.equal(opt.paramGroups.length, 2);
  const [bb, rest] = opt.paramGroups;
  assert.ok(Math.abs(bb.lr - 0.001) < 1e-12, `backbone lr ${bb.lr}`);
  assert.equal(bb.weightDecay, 1e-4);
  assert.equal(rest.lr, 0.01);
  assert.equal(rest.weightDecay, 5e-4);

  const byTensor = new Map(model.namedParameters().map(([k, p]) => [p, k]));
  const names = (ps: torch.Tensor[]): string[] => ps.map((p) => byTensor.get(p)!);
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
  const grouped = [...names(bb.params), ...names(rest.params)];
  assert.deepEqual([...grouped].sort(), [...trainable].sort(), 'the groups do not hold exactly the trainable parameters');
  assert.equal(new Set(grouped).size, grouped.length, 'a parameter is in two groups');
  assert.ok(names(bb.params).every((k) => k.startsWith('backbone.') && !k.startsWith('backbone.layer1.')));
  assert.ok(names(rest.params).every((k) => k.startsWith('classifier.') || k.startsWith('aux_classifier.')));

  // plain SGD: p ← p − lr (g + wd p), with each group's own lr and wd
  const check = ['backbone.layer4.2.conv3.weight', 'classifier.4.weight'];
  const params = new Map(model.namedParameters());
  const old = torch.noGrad(() => check.map((k) => params.get(k)!.clone()));
  trainStep(model, opt, 3);
  check.forEach((k, i) => {
    torch.tidy(() => {
      const [lr, wd] = k.startsWith('backbone.') ? [0.001, 1e-4] : [0.01, 5e-4];
      const p = params.get(k)!;
      const expected = old[i].sub(p.grad!.add(old[i], wd).mul(lr));
      const err = p.sub(expected).abs().max().item();
      assert.ok(err < 1e-7, `${k}: step differs from lr ${lr}, weight decay ${wd} by ${err}`);
    });
  });
  old.forEach((t) => t.dispose());
  opt.dispose();
  model.dispose();
});

test('paramGroups: first matching rule wins, explicit lr beats lrScale, AdamW takes the groups; lrScale without a base lr is an error', () => {
  const model = create('lraspp_mobilenet_v3_large', { numClasses: 2 });
  const rules = [
    { params: ['*.bias', /\.1\.weight$/], weightDecay: 0 }, // no decay on biases and BatchNorm scales
    { params: 'backbone', lrScale: 0.1 },
    { params: 'classifier.high_classifier', lr: 0.5, lrScale: 0.1 },
  ];
  const groups = paramGroups(model, rules, { lr: 1e-3 });
  const opt = new AdamW(groups, { lr: 1e-3, weightDecay: 0.05 });
  assert.equal(opt.paramGroups.length, 4);
  const [noDecay, bb, high, rest] = opt.paramGroups;
  assert.equal(noDecay.weightDecay, 0);
  assert.equal(noDecay.lr, 1e-3);
  assert.ok(Math.abs(bb.lr - 1e-4) < 1e-15);
  assert.equal(bb.weightDecay, 0.05);
  assert.equal(high.lr, 0.5);
  assert.equal(rest.lr, 1e-3);
  const byTensor = new Map(model.namedParameters().map(([k, p]) => [p, k]));
  assert.ok(noDecay.params.every((p) => /\.bias$|\.1\.weight$/.test(byTensor.get(p)!)));
  assert.ok(bb.params.every((p) => byTensor.get(p)!.startsWith('backbone.')));
  assert.ok(high.params.every((p) => byTensor.get(p)!.startsWith('classifier.high_classifier.')));
  assert.equal(opt.paramGroups.reduce((n, g) => n + g.params.length, 0), model.parameters().length);
  assert.throws(() => paramGroups(model, [{ params: 'backbone', lrScale: 0.1 }]), /rule for 'backbone' has lrScale 0\.1 but no base lr was given \(pass \{ lr \} as the third argument\)/);
  assert.throws(() => paramGroups(model, [{ params: 'encoder', lrScale: 0.1 }], { lr: 1 }), /no parameter of LRASPP matches 'encoder'/);
  opt.dispose();
  model.dispose();
});
