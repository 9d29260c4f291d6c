// segmentation_models_pytorch (smp 0.5.0) parity: Unet and DeepLabV3Plus built here have smp's
// state-dict keys and shapes in smp's order, and, filled with the fixture's closed-form weights
// (FILL_SPEC), give smp's eval outputs and smp's training-mode output and BatchNorm statistics.
// Fixture and its generator: test/fixtures/models/smp/ (gen_smp.py, smp_keys.json,
// smp_parity.safetensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { saveWeights } from '../../src/io/weights.js';
import type { RawTensor } from '../../src/io/raw.js';
import { create, type LoadReport, type SegmentationModel } from '../../src/models/index.js';
import { fuseConvBn, type Module } from '../../src/nn/index.js';
import { resnet } from '../../src/models/backbones/resnet.js';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

interface Config {
  arch: 'Unet' | 'DeepLabV3Plus';
  kwargs: { encoder_name: string; classes: number; in_channels: number };
  keys: [string, number[]][];
  fill_probes?: Record<string, number[]>;
}
interface Case {
  config: string;
  mode: 'eval' | 'train';
  input: string;
  output: string;
  running_stats?: string[];
}
const golden = JSON.parse(readFileSync(fixture('models', 'smp', 'smp_keys.json'), 'utf8')) as {
  smp: { version: string };
  configs: Record<string, Config>;
  parity: Case[];
};
const { tensors } = readSafetensors(fixture('models', 'smp', 'smp_parity.safetensors'));
const get = (name: string): torch.Tensor => torch.fromRaw(tensors.get(name)!);

/** The registry name of an smp configuration ('Unet' + 'resnet34' → 'unet_resnet34'). */
const registryName = (c: Config): string => `${c.arch.toLowerCase()}_${c.kwargs.encoder_name}`;
const build = (c: Config): Module => create(registryName(c), { numClasses: c.kwargs.classes, inChannels: c.kwargs.in_channels });

// FILL_SPEC of gen_smp.py: a hash of (entry index k, element index i) scaled per kind of entry
function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function fillValues(k: number, key: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = Math.imul(k, 0x9e3779b9);
  const out = new Float32Array(n);
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 0;
  for (let i = 0; i < n; i++) {
    const u = (lowbias32((base + i) >>> 0) / 4294967296) * 2 - 1;
    let v: number;
    if (shape.length >= 2) v = Math.sqrt(3 / fanIn) * u;
    else if (key.endsWith('running_var')) v = 1 + 0.5 * u;
    else if (key.endsWith('running_mean')) v = 0.1 * u;
    else if (key.endsWith('weight')) v = 1.2 + 0.2 * u;
    else if (key.endsWith('bias')) v = 0.1 * u;
    else throw new Error(`no fill rule for ${key}`);
    out[i] = Math.fround(v);
  }
  return out;
}

/** The fixture's weights for `model`, in its own state-dict order (num_batches_tracked left as is). */
function filledState(model: Module): Map<string, RawTensor> {
  const state = new Map<string, RawTensor>();
  [...model.stateDict()].forEach(([key, t], k) => {
    if (key.endsWith('num_batches_tracked')) return;
    const values = fillValues(k, key, t.shape);
    state.set(key, { dtype: 'float32', shape: t.shape, data: new Uint8Array(values.buffer) });
  });
  return state;
}

/** Largest |a - b| and whether every element is within atol + rtol·|b| (1e-4 each). */
function compare(a: torch.Tensor, b: torch.Tensor): { maxAbs: number; ok: boolean } {
  assert.deepEqual(a.shape, b.shape);
  return torch.tidy(() => {
    const diff = a.sub(b).abs();
    const excess = diff.sub(b.abs().mul(1e-4).add(1e-4)).max().item();
    return { maxAbs: diff.max().item(), ok: excess <= 0 };
  });
}

for (const [name, config] of Object.entries(golden.configs)) {
  test(`${name}: state-dict keys and shapes are smp ${golden.smp.version}'s, in order`, () => {
    const model = build(config);
    const got = [...model.stateDict()].map(([k, t]) => [k, t.shape]);
    assert.deepEqual(got, config.keys);
    model.dispose();
  });
}

test('the closed-form fill reproduces the fixture probes', () => {
  const config = golden.configs.unet_resnet18;
  const entries = new Map(config.keys);
  const index = config.keys.map(([k]) => k);
  for (const [key, probe] of Object.entries(config.fill_probes!)) {
    const values = fillValues(index.indexOf(key), key, entries.get(key)!);
    assert.deepEqual([...values.slice(0, 4)], probe.map(Math.fround), key); // the probes are float32 printed shortest
  }
});

for (const c of golden.parity) {
  test(`${c.config}: ${c.mode}-mode output on '${c.input}' equals smp's (atol 1e-4, rtol 1e-4)`, () => {
    const model = build(golden.configs[c.config]) as SegmentationModel;
    model.loadStateDict(filledState(model));
    model.train(c.mode === 'train');
    torch.tidy(() => {
      const x = get(c.input);
      const { out } = c.mode === 'eval' ? torch.inferenceMode(() => model.call(x)) : torch.noGrad(() => model.call(x));
      const r = compare(out, get(c.output));
      console.log(`# ${c.output}: max abs err ${r.maxAbs.toExponential(2)}`);
      assert.ok(r.ok, `${c.output}: max abs err ${r.maxAbs}`);
      if (c.mode === 'eval') {
        // channels-last with BatchNorm folded: what the fast inference path runs
        model.toChannelsLast();
        fuseConvBn(model);
        const fused = compare(torch.inferenceMode(() => model.call(x.contiguous('channels_last'))).out, get(c.output));
        assert.ok(fused.ok, `${c.output}, fused channels-last: max abs err ${fused.maxAbs}`);
      }
      const sd = model.stateDict();
      for (const stat of c.running_stats ?? []) {
        const s = compare(sd.get(stat.slice(c.output.length + 1))!, get(stat));
        assert.ok(s.ok, `${stat}: max abs err ${s.maxAbs}`);
      }
    });
    model.dispose();
  });
}

test('deeplabv3plus_mobilenet_v2 at an odd size: input padded to a multiple of 16, logits cropped back, gradients flow', () => {
  const model = create('deeplabv3plus_mobilenet_v2', { numClasses: 3 }) as SegmentationModel;
  torch.tidy(() => {
    const x = torch.randn([2, 3, 37, 53]);
    const { out } = model.call(x);
    assert.deepEqual(out.shape, [2, 3, 37, 53]);
    out.sum().backward();
    for (const [k, p] of model.namedParameters()) assert.ok(p.grad, `${k} got no gradient`);
  });
  model.dispose();
});

test('weightsBackbone: a torchvision resnet18 checkpoint loads into encoder.* (fc skipped), here for 1 input channel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-smp-'));
  try {
    const classifier = create('resnet18');
    const file = join(dir, 'resnet18.safetensors');
    saveWeights(classifier, file);
    const reports: LoadReport[] = [];
    const model = create('unet_resnet18', { inChannels: 1, weightsBackbone: file, onLoad: (r) => reports.push(r) });
    const [report] = reports;
    assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['fc.bias', 'fc.weight']);
    assert.deepEqual(report.missing, []);
    assert.deepEqual(report.adapted.map((s) => s.key), ['conv1.weight']);
    const mine = model.stateDict();
    const theirs = classifier.stateDict();
    torch.tidy(() => {
      assert.equal(mine.get('encoder.layer4.1.conv2.weight')!.sub(theirs.get('layer4.1.conv2.weight')!).abs().max().item(), 0);
      assert.equal(mine.get('encoder.conv1.weight')!.sub(theirs.get('conv1.weight')!.sum(1, true)).abs().max().item(), 0); // smp: 1 channel gets the sum
    });
    classifier.dispose();
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('weightsBackbone: a torchvision mobilenet_v2 checkpoint loads into encoder.features.* (classifier skipped)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-smp-'));
  try {
    const classifier = create('mobilenet_v2');
    const file = join(dir, 'mobilenet_v2.safetensors');
    saveWeights(classifier, file);
    classifier.dispose();
    const reports: LoadReport[] = [];
    const model = create('deeplabv3plus_mobilenet_v2', { weightsBackbone: file, onLoad: (r) => reports.push(r) });
    assert.deepEqual(reports[0].skipped.map((s) => s.key).sort(), ['classifier.1.bias', 'classifier.1.weight']);
    assert.deepEqual(reports[0].missing, []);
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('smp models refuse auxLoss', () => {
  assert.throws(() => create('unet_resnet34', { auxLoss: true }), /no auxiliary segmentation head/);
});

test("ResNet-18/34 keep torchvision's refusal of dilation; dilationRule 'smp' dilates them", () => {
  assert.throws(() => resnet('resnet18', { replaceStrideWithDilation: [false, false, true] }), /BasicBlock does not support dilation/);
  const net = resnet('resnet18', { replaceStrideWithDilation: [false, false, true], dilationRule: 'smp' });
  const first = net.layer4.at(0) as unknown as { conv1: { stride: number[]; dilation: number[]; padding: unknown } };
  assert.deepEqual([first.conv1.stride, first.conv1.dilation, first.conv1.padding], [[1, 1], [2, 2], [2, 2]]);
  net.dispose();
});
