// UNet against the PyTorch model of bench/peers/unet.py (fixture: test/fixtures/models/gen_unet.py):
// same state-dict keys in the same order, identical initialisation after the same seed, the same
// eval output, training loss and gradients, also channels-last and with BatchNorm folded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../src/torch/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { UNet } from '../../src/models/unet.js';
import { fuseConvBn } from '../../src/nn/index.js';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const { tensors } = readSafetensors(fixture('models', 'unet.safetensors'));
const meta = JSON.parse(readFileSync(fixture('models', 'unet.json'), 'utf8')) as { keys: string[]; loss: number };
const get = (name: string): torch.Tensor => torch.fromRaw(tensors.get(name)!);

/** max |a - b| / max |b| */
function relErr(a: torch.Tensor, b: torch.Tensor): number {
  return torch.tidy(() => a.float().sub(b.float()).abs().max().item() / Math.max(b.float().abs().max().item(), 1e-12));
}

function withGroups(prefix: string): Map<string, torch.Tensor> {
  const out = new Map<string, torch.Tensor>();
  for (const k of meta.keys) out.set(k, get(`${prefix}.${k}`));
  return out;
}

function disposeAll(m: Map<string, torch.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

test('state-dict keys match PyTorch, in order', () => {
  const m = new UNet({ numClasses: 4, baseWidth: 2 });
  assert.deepEqual([...m.stateDict().keys()], meta.keys);
  m.dispose();
});

test('initialisation is identical to PyTorch after the same seed', () => {
  torch.manualSeed(0);
  const m = new UNet({ numClasses: 4, baseWidth: 2 });
  const init = withGroups('init');
  for (const [k, t] of m.stateDict()) {
    assert.equal(relErr(t, init.get(k)!), 0, `${k} differs from torch's initial value`);
  }
  disposeAll(init);
  m.dispose();
});

test('eval output matches PyTorch (NCHW, channels-last, BatchNorm folded)', () => {
  const m = new UNet({ numClasses: 4, baseWidth: 2 });
  const state = withGroups('state');
  m.loadStateDict(state);
  disposeAll(state);
  m.eval();
  torch.tidy(() => {
    const x = get('x');
    const expected = get('y_eval');
    const y = torch.inferenceMode(() => m.call(x).out);
    assert.ok(relErr(y, expected) < 1e-5, `NCHW eval output: rel err ${relErr(y, expected)}`);
    m.toChannelsLast();
    const ycl = torch.inferenceMode(() => m.call(x.contiguous('channels_last')).out);
    assert.ok(relErr(ycl, expected) < 1e-5, `channels-last eval output: rel err ${relErr(ycl, expected)}`);
    assert.equal(fuseConvBn(m), 18);
    const yf = torch.inferenceMode(() => m.call(x.contiguous('channels_last')).out);
    assert.ok(relErr(yf, expected) < 1e-5, `fused eval output: rel err ${relErr(yf, expected)}`);
  });
  m.dispose();
});

test('training step: loss and every gradient match PyTorch', () => {
  const m = new UNet({ numClasses: 4, baseWidth: 2 });
  const state = withGroups('state');
  m.loadStateDict(state);
  disposeAll(state);
  m.train();
  torch.tidy(() => {
    const loss = torch.F.crossEntropy(m.call(get('x')).out, get('target'));
    assert.ok(Math.abs(loss.item() - meta.loss) / meta.loss < 1e-5, `loss ${loss.item()} vs torch ${meta.loss}`);
    loss.backward();
    for (const [name, p] of m.namedParameters()) {
      const g = p.grad;
      assert.ok(g, `${name} got no gradient`);
      // gradients sum over many pixels in a different order on 2 threads: allow 1e-4
      const e = relErr(g, get(`grad.${name}`));
      assert.ok(e < 1e-4, `gradient of ${name}: rel err ${e}`);
    }
  });
  m.dispose();
});

test('any input size: padded to a multiple of 2^depth, logits cropped back to the input', () => {
  const m = new UNet({ numClasses: 2, baseWidth: 2, depth: 3 }).eval();
  torch.tidy(() => {
    const x = torch.randn([1, 3, 30, 41]);
    const y = torch.inferenceMode(() => m.call(x).out);
    assert.deepEqual(y.shape, [1, 2, 30, 41]);
    // the same as running the padded input (zeros right and bottom) and cropping by hand
    const padded = torch.inferenceMode(() => m.call(torch.F.pad(x, [0, 7, 0, 2])).out);
    assert.deepEqual(padded.shape, [1, 2, 32, 48]);
    assert.equal(relErr(y, padded.narrow(2, 0, 30).narrow(3, 0, 41)), 0);
  });
  m.dispose();
});

test('bilinear upsampling and BatchNorm off change the layers, and the keys say so', () => {
  const bilinear = new UNet({ numClasses: 3, baseWidth: 4, depth: 2, upsampling: 'bilinear' });
  const keys = [...bilinear.stateDict().keys()];
  assert.ok(keys.includes('up2.1.weight') && keys.includes('up1.1.bias'), 'bilinear up is Upsample + 1x1 conv (up{i}.1)');
  assert.ok(!keys.some((k) => k.startsWith('up2.0.')), 'the Upsample has no parameters');
  const plain = new UNet({ numClasses: 3, baseWidth: 4, depth: 2, batchNorm: false });
  const plainKeys = [...plain.stateDict().keys()];
  assert.ok(plainKeys.includes('enc1.block.0.bias') && plainKeys.includes('enc1.block.2.weight'), 'without BatchNorm: conv (with bias), ReLU, conv');
  assert.ok(!plainKeys.some((k) => k.includes('running_mean')));
  torch.tidy(() => {
    const x = torch.randn([2, 3, 20, 20]);
    for (const m of [bilinear, plain]) {
      const y = m.call(x).out;
      assert.deepEqual(y.shape, [2, 3, 20, 20]);
      y.sum().backward();
    }
  });
  bilinear.dispose();
  plain.dispose();
  assert.throws(() => new UNet({ upsampling: 'nearest' as never }), /upsampling must be 'transposed' or 'bilinear', got 'nearest'/);
});
