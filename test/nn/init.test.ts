// Default initialisation and nn.init against PyTorch: after the same manual seed, the same
// constructors and init calls give bit-identical float32 values (libtorch's CPU generator is PyTorch's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { withNoLeaks } from '../leak.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { empty, manualSeed, type Tensor } from '../../src/torch/index.js';
import { init } from '../../src/nn/index.js';
import { assertIdentical, build, under, type LayerSpec } from './helpers.js';

type Case =
  | { name: string; kind: 'module'; spec: LayerSpec; seed: number }
  | { name: string; kind: 'function'; shape: number[]; args: Record<string, number | string>; seed: number };

const { tensors, metadata } = readSafetensors(fixture('nn', 'init.safetensors'));
const cases = JSON.parse(metadata.cases) as Case[];

for (const c of cases.filter((c) => c.kind === 'module')) {
  test(`a fresh ${c.name} after manualSeed(${c.seed}) equals PyTorch's, bit for bit`, withNoLeaks(() => {
    manualSeed(c.seed);
    const m = build((c as { spec: LayerSpec }).spec);
    try {
      const want = under(tensors, c.name);
      const sd = m.stateDict();
      assert.deepEqual([...sd.keys()], [...want.keys()]);
      for (const [k, t] of sd) {
        if (want.get(k)!.dtype === 'int64') continue; // num_batches_tracked: 0
        assertIdentical(t, want.get(k)!, `${c.name}.${k}`);
      }
    } finally {
      m.dispose();
    }
  }));
}

// each fixture function with the arguments gen_nn.py gave it
const apply: Record<string, (t: Tensor, a: Record<string, any>) => Tensor> = {
  xavier_uniform: (t) => init.xavierUniform_(t, init.calculateGain('relu')),
  xavier_normal: (t) => init.xavierNormal_(t),
  kaiming_uniform: (t) => init.kaimingUniform_(t),
  kaiming_normal_fan_out: (t, a) => init.kaimingNormal_(t, { mode: a.mode, nonlinearity: a.nonlinearity }),
  kaiming_uniform_leaky: (t, a) => init.kaimingUniform_(t, { a: a.a }),
  uniform: (t, a) => init.uniform_(t, a.a, a.b),
  normal: (t, a) => init.normal_(t, a.mean, a.std),
  trunc_normal: (t, a) => init.truncNormal_(t, { std: a.std }),
  trunc_normal_shifted: (t, a) => init.truncNormal_(t, a),
  constant: (t, a) => init.constant_(t, a.value),
};

for (const c of cases.filter((c) => c.kind === 'function')) {
  test(`init ${c.name} after manualSeed(${c.seed}) equals PyTorch's, bit for bit`, withNoLeaks(() => {
    const f = c as Extract<Case, { kind: 'function' }>;
    assert.ok(apply[f.name], `no segkit call for fixture ${f.name}`);
    manualSeed(f.seed);
    const t = empty(f.shape);
    const r = apply[f.name](t, f.args);
    assert.equal(r, t, 'initialisers work in place and return their tensor');
    assertIdentical(t, tensors.get(`${f.name}/value`)!, f.name);
    t.dispose();
  }));
}

test('calculateGain matches PyTorch', withNoLeaks(() => {
  const gains = JSON.parse(metadata.gains) as Record<string, number>;
  for (const [k, v] of Object.entries(gains)) {
    const got = k === 'leaky_relu_0.2' ? init.calculateGain('leaky_relu', 0.2) : init.calculateGain(k as init.Nonlinearity);
    assert.equal(got, v, k);
  }
  assert.throws(() => init.calculateGain('swish' as init.Nonlinearity), /unsupported nonlinearity 'swish'/);
}));

test('initialisers on parameters do not record autograd history; fan needs 2 dims', withNoLeaks(() => {
  const w = empty([4, 3]).requiresGrad_(true);
  init.kaimingUniform_(w, { a: Math.sqrt(5) });
  assert.equal(w.info().isLeaf, true);
  assert.equal(w.info().gradFn, null);
  const b = empty([4]);
  assert.throws(() => init.xavierUniform_(b), /2 or more dimensions, got shape \[4\]/);
  assert.throws(() => init.kaimingNormal_(w, { mode: 'fan_avg' as init.FanMode }), /mode 'fan_avg' is not supported/);
  w.dispose();
  b.dispose();
}));
