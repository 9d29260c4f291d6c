// Module semantics: PyTorch key names and order, repr, strict loading, registration by property
// name, ownership (dispose, replacement), modes, conversion. Reference: gen_nn.py's Net.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readStateDict } from '../../src/io/checkpoint.js';
import type { RawTensor } from '../../src/io/raw.js';
import * as nn from '../../src/nn/index.js';
import { Tensor, memory, noGrad, ones, randn, tensor, tidy, zeros } from '../../src/torch/index.js';
import { assertClose, assertIdentical } from './helpers.js';
import { Net } from './net.js';

checkLeaksEachTest();

const ref = readSafetensors(fixture('nn', 'net.safetensors'));
const pthState = readStateDict(fixture('nn', 'net.pth'));
const torchKeys = JSON.parse(ref.metadata.keys) as string[];

/** Runs fn with a fresh Net and disposes it afterwards. */
function withNet<T>(fn: (net: Net) => T): T {
  const net = new Net();
  try {
    return fn(net);
  } finally {
    net.dispose();
  }
}

test('state-dict keys equal PyTorch state_dict().keys(), in order', () => withNet((net) => {
  // own buffers first, numbered Sequential children with parameter-less layers counted,
  // ModuleList indices, ModuleDict keys, BatchNorm buffers; the non-persistent buffer left out
  assert.deepEqual([...net.stateDict().keys()], torchKeys);
  assert.deepEqual([...pthState.keys()], torchKeys);
  assert.equal(torchKeys[0], 'scale');
  assert.ok(torchKeys.includes('stem.1.num_batches_tracked') && torchKeys.includes('heads.aux.1.weight'));
  assert.equal(net.stateDict().get('stem.1.num_batches_tracked')!.dtype, 'int64');
}));

test('namedParameters / namedBuffers / namedModules follow PyTorch', () => withNet((net) => {
  const params = net.namedParameters().map(([k]) => k);
  assert.deepEqual(params, torchKeys.filter((k) => /\.(weight|bias)$/.test(k)));
  assert.equal(net.parameters().length, params.length);
  const buffers = net.namedBuffers().map(([k]) => k);
  assert.deepEqual(buffers.slice(0, 2), ['scale', 'scratch'], 'non-persistent buffers are buffers, just not state');
  assert.ok(!net.stateDict().has('scratch'));
  assert.deepEqual(net.namedModules().slice(0, 6).map(([k]) => k), ['', 'stem', 'stem.0', 'stem.1', 'stem.2', 'stem.3']);
  assert.deepEqual(net.namedChildren().map(([k]) => k), ['stem', 'blocks', 'heads', 'norm', 'pool', 'fc']);
  assert.deepEqual(net.namedParameters({ prefix: 'model', recurse: false }), []);
  assert.deepEqual(net.fc.namedParameters({ prefix: 'fc' }).map(([k]) => k), ['fc.weight', 'fc.bias']);
  assert.equal(net.getSubmodule('blocks.1.bn'), net.blocks.at(1).bn);
  assert.throws(() => net.getSubmodule('blocks.7'), /has no child '7' .*children are: 0, 1/);
}));

test('toString prints what PyTorch prints', () => withNet((net) => {
  assert.equal(net.toString(), ref.metadata.repr);
}));

test('a torch.save()d state dict loads strictly with identical values and gives PyTorch\'s outputs', () => withNet((net) => {
  const result = net.loadStateDict(pthState);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
  for (const [k, t] of net.stateDict()) {
    const want = pthState.get(k)!;
    if (want.dtype === 'int64') assert.deepEqual(t.toArray(), [3], `${k}: three training steps`);
    else assertIdentical(t, want, k);
  }
  net.eval();
  const x = tensorFrom(ref.tensors.get('input')!);
  const out = noGrad(() => net.forward(x));
  for (const k of ['seg', 'aux', 'cls'] as const) assertClose(out[k], ref.tensors.get(k)!, k);
  for (const t of [x, out.seg, out.aux, out.cls]) t.dispose();
}));

test('strict loading reports every missing, unexpected and wrong-shape key in one Error, and changes nothing', () => withNet((net) => {
  const sd = new Map(pthState);
  sd.delete('fc.bias');
  sd.delete('blocks.0.bn.running_var');
  sd.set('extra.weight', pthState.get('fc.bias')!);
  const wrong: RawTensor = { dtype: 'float32', shape: [7, 4, 1, 1], data: new Uint8Array(7 * 4 * 4) };
  sd.set('heads.seg.weight', wrong);
  const before = net.fc.weight.toArray();
  assert.throws(
    () => net.loadStateDict(sd),
    (err: Error) => {
      assert.match(err.message, /^Error\(s\) in loading state_dict for Net:/);
      assert.match(err.message, /Missing key\(s\) in state_dict: "blocks\.0\.bn\.running_var", "fc\.bias"\./);
      assert.match(err.message, /Unexpected key\(s\) in state_dict: "extra\.weight"\./);
      assert.match(err.message, /size mismatch for heads\.seg\.weight: copying a param with shape \[7, 4, 1, 1\] from checkpoint, the shape in current model is \[5, 4, 1, 1\]/);
      assert.match(err.message, /strict: false/);
      return true;
    },
  );
  assert.deepEqual(net.fc.weight.toArray(), before, 'a failed strict load leaves the module as it was');

  const result = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(result.missingKeys, ['blocks.0.bn.running_var', 'fc.bias']);
  assert.deepEqual(result.unexpectedKeys, ['extra.weight']);
  assert.deepEqual(result.mismatchedKeys, [{ key: 'heads.seg.weight', expected: [5, 4, 1, 1], got: [7, 4, 1, 1] }]);
  assertIdentical(net.fc.weight, pthState.get('fc.weight')!, 'matching keys are loaded');
  assert.notEqual(net.heads.get('seg').stateDict().get('weight')!.toArray()[0], 0, 'the wrong-shape key is skipped');
}));

test('strict loading hints at a prefix to strip', () => withNet((net) => {
  const prefixed = new Map([...pthState].map(([k, v]) => [`module.${k}`, v]));
  assert.throws(() => net.loadStateDict(prefixed), /starts with 'module\.' .*stripPrefix: 'module\.'/);
}));

test('a checkpoint without num_batches_tracked (before PyTorch 0.4.1) loads; the counters become 0', () => withNet((net) => {
  const old = new Map([...pthState].filter(([k]) => !k.endsWith('num_batches_tracked')));
  assert.deepEqual(net.loadStateDict(old).missingKeys, []);
  assert.deepEqual(net.blocks.at(0).bn.num_batches_tracked!.toArray(), [0]);
  // but a BatchNorm the checkpoint does not cover at all is reported missing, counter included
  const partial = new Map([...pthState].filter(([k]) => !k.startsWith('stem.1.')));
  assert.deepEqual(net.loadStateDict(partial, { strict: false }).missingKeys, ['stem.1.weight', 'stem.1.bias', 'stem.1.running_mean', 'stem.1.running_var', 'stem.1.num_batches_tracked']);
}));

test('loadStateDict takes Tensors too, converting dtype, keeping tensor identity', () => {
  const lin = new nn.Linear(2, 2);
  const w = lin.weight;
  const src = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
  const b = tensor([5, 6]);
  lin.loadStateDict({ weight: src, bias: b });
  assert.equal(lin.weight, w);
  assert.equal(w.dtype, 'float32');
  assert.deepEqual(w.toArray(), [1, 2, 3, 4]);
  assert.ok(w.requiresGrad && w.info().isLeaf);
  src.dispose();
  b.dispose();
  lin.dispose();
});

test('parameters are leaves needing grad, owned by the module beyond tidy scopes', () => {
  const conv = tidy(() => new nn.Conv2d(3, 4, 3));
  for (const p of conv.parameters()) {
    assert.equal(p.isDisposed, false);
    assert.ok(p.requiresGrad && p.info().isLeaf);
    assert.ok(nn.isParameter(p));
  }
  const n = memory().tensors;
  conv.dispose();
  assert.equal(memory().tensors, n - 2);
  assert.ok(conv.weight.isDisposed);
});

test('registration by property name: parameters, buffers, children; order of assignment', () => {
  class Custom extends nn.Module {
    first = new nn.Linear(2, 2);
    declare alpha: Tensor;
    declare beta: Tensor | undefined;
    constructor() {
      super();
      this.alpha = nn.parameter(ones([2]));
      this.registerBuffer('count', zeros([1]));
      this.registerParameter('beta', undefined);
      this.second = new nn.Identity();
      this.plain = randn([2]); // a plain tensor attribute is not state
    }
    declare second: nn.Module;
    declare plain: Tensor;
  }
  const m = new Custom();
  assert.deepEqual([...m.stateDict().keys()], ['alpha', 'count', 'first.weight', 'first.bias']);
  assert.deepEqual(m.namedChildren().map(([k]) => k), ['first', 'second']);
  m.beta = nn.parameter(zeros([1]));
  assert.deepEqual([...m.stateDict().keys()], ['alpha', 'beta', 'count', 'first.weight', 'first.bias'], 'a declared slot keeps its place');
  const plainTensor = ones([2]);
  assert.throws(() => { m.alpha = plainTensor; }, /cannot assign a plain Tensor to parameter 'alpha' of Custom: assign nn\.parameter\(t\)/);
  assert.throws(() => { (m as any).first = plainTensor; }, /cannot assign a plain Tensor as child module 'first'/);
  plainTensor.dispose();
  assert.throws(() => m.registerModule('a.b', new nn.Identity()), /cannot contain '\.'/);
  assert.throws(() => m.registerModule('forward', new nn.Identity()), /'forward' is a method or accessor/);
  delete (m as any).beta;
  assert.ok(!m.stateDict().has('beta'));
  m.plain.dispose();
  m.dispose();
});

test('replacing a registered parameter or child disposes the old one, unless it is still in the module', () => {
  const head = new nn.Sequential(new nn.Conv2d(4, 4, 1), new nn.ReLU(), new nn.Conv2d(4, 21, 1));
  const before = memory().tensors;
  const old = head[2];
  head[2] = new nn.Conv2d(4, 3, 1); // a new number of classes
  assert.ok((old as nn.Conv2d).weight.isDisposed);
  assert.equal(memory().tensors, before);
  assert.deepEqual(head.stateDict().get('2.weight')!.shape, [3, 4, 1, 1]);

  const kept = head[0];
  head[0] = new nn.Sequential(new nn.Identity(), kept); // wrapping keeps it alive
  assert.equal((kept as nn.Conv2d).weight.isDisposed, false);
  assert.deepEqual([...head.stateDict().keys()].slice(0, 2), ['0.1.weight', '0.1.bias']);

  const lin = new nn.Linear(2, 2);
  const w = lin.weight;
  lin.weight = nn.parameter(lin.weight.mul(2));
  assert.ok(w.isDisposed && !lin.weight.isDisposed && lin.weight.info().isLeaf);
  lin.dispose();

  const dict = new nn.ModuleDict([['b', new nn.Linear(1, 1)], ['a', new nn.Linear(1, 1)]]);
  assert.deepEqual(dict.keys(), ['b', 'a']);
  const popped = dict.pop('b');
  assert.equal((popped as nn.Linear).weight.isDisposed, false, 'pop hands the module over');
  assert.deepEqual([...dict.stateDict().keys()], ['a.weight', 'a.bias']);
  popped.dispose();
  dict.dispose();
  head.dispose();
});

test('containers: Sequential indexing and forward, ModuleList, ModuleDict', () => {
  const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
  assert.equal(seq.length, 3);
  assert.equal(seq.at(-1), seq[2]);
  assert.throws(() => seq.at(3), /index 3 is out of range for 3 modules/);
  seq.append(new nn.Identity());
  assert.deepEqual(seq.namedChildren().map(([k]) => k), ['0', '1', '2', '3']);
  const named = new nn.Sequential(new Map<string, nn.Module>([['conv', new nn.Conv2d(1, 1, 1)], ['act', new nn.ReLU()]]));
  assert.deepEqual([...named.stateDict().keys()], ['conv.weight', 'conv.bias']);

  // forward frees intermediates as it goes: only the output is left
  const x = randn([5, 3]);
  const n = memory().tensors;
  const y = noGrad(() => seq.forward(x));
  assert.equal(memory().tensors, n + 1);
  assert.deepEqual(y.shape, [5, 2]);
  const manual = noGrad(() => tidy(() => seq[2].forward(seq[1].forward(seq[0].forward(x)))));
  assert.deepEqual(y.toArray(), manual.toArray());
  for (const t of [x, y, manual]) t.dispose();

  const list = new nn.ModuleList([new nn.ReLU(), new nn.Tanh()]);
  list.extend([new nn.Sigmoid()]);
  assert.deepEqual([...list].map((m) => m.constructor.name), ['ReLU', 'Tanh', 'Sigmoid']);
  assert.throws(() => new nn.ModuleDict().get('x'), /has no module 'x'; its keys are: none/);
  for (const m of [seq, named, list]) m.dispose();
});

test('train() / eval() reach every descendant', () => withNet((net) => {
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
}));

test('to(dtype) converts floating parameters and buffers in place; integer buffers keep their dtype', () => withNet((net) => {
  const w = net.fc.weight;
  const x = randn([1, 3, 8, 8]);
  const out = net.forward(x);
  tidy(() => out.cls.sum().backward());
  net.to('float64');
  assert.equal(net.fc.weight, w, 'same tensor object (optimizers keep their references)');
  assert.equal(w.dtype, 'float64');
  assert.ok(w.requiresGrad && w.info().isLeaf);
  const g = w.grad!;
  assert.equal(g.dtype, 'float64', 'gradients move along');
  assert.equal(net.scale.dtype, 'float64');
  assert.equal(net.blocks.at(0).bn.num_batches_tracked!.dtype, 'int64');
  assert.ok(net.buffers().every((b) => b.dtype === 'float64' || b.dtype === 'int64'));
  net.eval();
  const x64 = x.double();
  const o64 = noGrad(() => net.forward(x64));
  assert.equal(o64.seg.dtype, 'float64');
  assert.throws(() => net.to('int32'), /dtype must be floating point/);
  for (const t of [x, x64, g, out.seg, out.aux, out.cls, o64.seg, o64.aux, o64.cls]) t.dispose();
  net.to('float32');
  assert.equal(w.dtype, 'float32');
}));

test('toChannelsLast() changes the memory format of 4-D parameters, not the results', () => withNet((net) => {
  net.loadStateDict(pthState);
  net.eval();
  net.toChannelsLast();
  for (const [k, p] of net.namedParameters()) {
    const [, c, h, w] = p.shape;
    if (p.ndim === 4) assert.deepEqual(p.info().strides, [c * h * w, 1, w * c, c], `${k}: NHWC strides, as PyTorch gives (1×1 kernels too)`);
    else assert.ok(p.isContiguous(), k);
  }
  const x = tensorFrom(ref.tensors.get('input')!);
  const out = noGrad(() => net.forward(x));
  assertClose(out.seg, ref.tensors.get('seg')!, 'seg');
  for (const t of [x, out.seg, out.aux, out.cls]) t.dispose();
}));

test('requiresGrad_ freezes, zeroGrad drops gradients', () => withNet((net) => {
  net.stem.requiresGrad_(false);
  assert.ok(net.stem.parameters().every((p) => !p.requiresGrad));
  const x = randn([1, 3, 8, 8]);
  const out = net.forward(x);
  tidy(() => out.cls.sum().backward());
  assert.equal(net.stem.parameters()[0].grad, undefined);
  const g = net.fc.weight.grad!;
  assert.ok(g instanceof Tensor);
  g.dispose();
  net.zeroGrad();
  assert.equal(net.fc.weight.grad, undefined);
  for (const t of [x, out.seg, out.aux, out.cls]) t.dispose();
}));

function tensorFrom(raw: RawTensor): Tensor {
  return tensor(new Float32Array(new Uint8Array(raw.data).buffer), { shape: raw.shape });
}
