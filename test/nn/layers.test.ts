// Every layer against PyTorch 1.13 (test/fixtures/nn/gen_nn.py): the state dict loads strictly,
// and output, input gradient, parameter gradients and updated buffers match within 1e-5
// relative error (max |a − e| / max |e|) for float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { withNoLeaks } from '../leak.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Tensor, fromRaw, manualSeed, noGrad, tidy } from '../../src/torch/index.js';
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

test('fixture covers every layer family the nn layer exports', () => {
  const layers = new Set(cases.flatMap((c) => [c.spec.layer, ...c.spec.args.filter((a): a is LayerSpec => typeof a === 'object' && a !== null).map((a) => a.layer)]));
  for (const l of ['Conv2d', 'ConvTranspose2d', 'BatchNorm2d', 'BatchNorm1d', 'GroupNorm', 'LayerNorm', 'Linear', 'ReLU', 'ReLU6', 'LeakyReLU', 'GELU', 'SiLU', 'Hardswish', 'Hardsigmoid', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Dropout', 'Dropout2d', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'Upsample', 'Identity', 'Flatten', 'Sequential']) {
    assert.ok(layers.has(l), `no fixture case for ${l}`);
  }
});
