// Every layer against PyTorch 1.13 (test/fixtures/nn/gen_nn.py): the state dict loads strictly,
// and output, input gradient, parameter gradients and updated buffers match within 1e-5
// relative error (max |a − e| / max |e|) for float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { withNoLeaks } from '../leak.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import * as nn from '../../src/nn/index.js';
import { Tensor, fromRaw, manualSeed, noGrad, randn, tidy } from '../../src/torch/index.js';
import { assertClose, build, under, type LayerSpec } from './helpers.js';

interface Case {
  name: string;
  spec: LayerSpec;
  train: boolean;
  pre: number;
  seed: number | null;
  forward_kwargs: { output_size?: number[] };
}

const { tensors, metadata } = readSafetensors(fixture('nn', 'layers.safetensors'));
const cases = JSON.parse(metadata.cases) as Case[];

for (const c of cases) {
  test(`${c.name}: ${c.spec.layer} matches PyTorch (output and gradients)`, withNoLeaks(() => {
    const ref = under(tensors, c.name);
    const m = build(c.spec);
    try {
      const result = m.loadStateDict(under(ref, 'state'));
      assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
      m.train(c.train);
      for (let i = 0; i < c.pre; i++) {
        tidy(() => {
          noGrad(() => m.forward(fromRaw(ref.get(`pre_${i}`)!)));
        });
      }

      const x = fromRaw(ref.get('input')!).requiresGrad_(true);
      const upstream = fromRaw(ref.get('upstream')!);
      if (c.seed !== null) manualSeed(c.seed);
      const out: Tensor = c.forward_kwargs.output_size ? m.forward(x, c.forward_kwargs.output_size) : m.forward(x);
      assertClose(out, ref.get('output')!, 'output');
      out.backward(upstream);

      const gx = x.grad!;
      assertClose(gx, ref.get('grad/input')!, 'input gradient');
      const grads = under(ref, 'grad');
      const params = m.namedParameters();
      assert.deepEqual(params.map(([k]) => k), [...grads.keys()].filter((k) => k !== 'input'), 'parameter names');
      for (const [name, p] of params) {
        const g = p.grad!;
        assertClose(g, grads.get(name)!, `gradient of ${name}`);
        g.dispose();
      }
      const after = under(ref, 'after');
      assert.deepEqual(m.namedBuffers().map(([k]) => k), [...after.keys()], 'buffer names');
      for (const [name, b] of m.namedBuffers()) {
        const want = after.get(name)!;
        if (want.dtype === 'int64') assert.deepEqual(b.toArray(), [Number(new BigInt64Array(new Uint8Array(want.data).buffer)[0])], name);
        else assertClose(b, want, `buffer ${name} after the step`);
      }
      for (const t of [x, upstream, out, gx]) t.dispose();
    } finally {
      m.dispose();
    }
  }));
}

test('fixture covers every layer family the nn layer exports', withNoLeaks(() => {
  const layers = new Set(cases.flatMap((c) => [c.spec.layer, ...c.spec.args.filter((a): a is LayerSpec => typeof a === 'object' && a !== null).map((a) => a.layer)]));
  for (const l of ['Conv2d', 'ConvTranspose2d', 'BatchNorm2d', 'BatchNorm1d', 'GroupNorm', 'LayerNorm', 'Linear', 'ReLU', 'ReLU6', 'LeakyReLU', 'GELU', 'SiLU', 'Hardswish', 'Hardsigmoid', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Dropout', 'Dropout2d', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'Upsample', 'Identity', 'Flatten', 'Sequential']) {
    assert.ok(layers.has(l), `no fixture case for ${l}`);
  }
}));

test('in-place activations and dropout overwrite their input and equal the out-of-place results', withNoLeaks(() => {
  const layers: [nn.Module, nn.Module][] = [
    [new nn.ReLU({ inplace: true }), new nn.ReLU()],
    [new nn.ReLU6({ inplace: true }), new nn.ReLU6()],
    [new nn.LeakyReLU({ negativeSlope: 0.2, inplace: true }), new nn.LeakyReLU(0.2)],
    [new nn.SiLU({ inplace: true }), new nn.SiLU()],
    [new nn.Hardswish({ inplace: true }), new nn.Hardswish()],
    [new nn.Hardsigmoid({ inplace: true }), new nn.Hardsigmoid()],
    [new nn.Dropout({ p: 0.4, inplace: true }), new nn.Dropout(0.4)],
    [new nn.Dropout2d({ p: 0.4, inplace: true }), new nn.Dropout2d(0.4)],
  ];
  for (const [inplace, plain] of layers) {
    tidy(() => {
      const x = randn([2, 4, 3, 3]).mul(4);
      manualSeed(3);
      const want = plain.forward(x);
      manualSeed(3);
      const y = inplace.forward(x);
      assert.equal(y, x, `${inplace.constructor.name}: returns its input`);
      assert.deepEqual(x.toArray(), want.toArray(), inplace.constructor.name);
    });
  }
}));

test('layer options: AdaptiveAvgPool2d null sides, eval dropout, Flatten ranges', withNoLeaks(() => {
  tidy(() => {
    const x = randn([1, 2, 5, 6]);
    const pooled = new nn.AdaptiveAvgPool2d([null, 1]).forward(x);
    assert.deepEqual(pooled.shape, [1, 2, 5, 1]);
    assert.ok(pooled.allclose(x.mean(-1, true), 1e-6, 1e-7), 'a null side keeps the input size');
    const d = new nn.Dropout(0.9).eval();
    assert.deepEqual(d.forward(x).toArray(), x.toArray());
    assert.deepEqual(new nn.Flatten().forward(x).shape, [1, 60]);
    assert.equal(new nn.Identity().forward(x), x);
  });
}));

test('layers reject bad options with messages that say what to change', withNoLeaks(() => {
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /in_channels 3 must be divisible by groups 2/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 }), /padding 'same' needs stride 1/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { paddingMode: 'mirror' as nn.PaddingMode }), /paddingMode must be/);
  assert.throws(() => new nn.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 }), /outputPadding \[2,2\] must be smaller than stride/);
  assert.throws(() => new nn.GroupNorm(3, 4), /numChannels 4 must be divisible by numGroups 3/);
  assert.throws(() => new nn.Upsample({}), /exactly one of size and scaleFactor/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, alignCorners: true }), /alignCorners only applies/);
  assert.throws(() => new nn.Dropout(1.5), /between 0 and 1, got 1.5/);
  const bn = new nn.BatchNorm2d(3);
  const flat = randn([2, 3]);
  assert.throws(() => bn.forward(flat), /BatchNorm2d: expected 4D input \(N, C, H, W\), got 2D/);
  const convT = new nn.ConvTranspose2d(3, 4, 3, { stride: 2 });
  const img = randn([1, 3, 4, 4]);
  assert.throws(() => convT.forward(img, [20, 20]), /output size \[20,20\] is not reachable.*dim 0 must be in 9\.\.10/);
  for (const d of [bn, convT, flat, img]) d.dispose();
}));
