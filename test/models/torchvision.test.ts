// torchvision parity: every architecture, built here and by torchvision 0.14 from the same
// torch.save'd state dict (random init, BatchNorm statistics perturbed), gives the same key list
// and the same `out`/`aux` at an odd input size (97x131); the train-mode cases also compare
// batch-statistics outputs and every gradient. Weights: test/fixtures/models/gen_torchvision.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { loadWeights } from '../../src/io/weights.js';
import { create } from '../../src/models/index.js';
import { fuseConvBn, type Module } from '../../src/nn/index.js';
import { checkLeaksEachTest } from '../leak.js';
import { generated } from './generated.js';

checkLeaksEachTest();

const CASES = [
  'resnet18', 'resnet34', 'resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large',
  'fcn_resnet50', 'fcn_resnet101', 'deeplabv3_resnet50', 'deeplabv3_resnet101', 'deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large',
];
const dir = generated(['models', 'gen_torchvision.py'], CASES);

interface Meta {
  keys: string[];
  shapes: number[][];
  kwargs: { aux_loss?: boolean; num_classes?: number };
}

const maxAbs = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());
const maxRel = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-12));

function build(name: string, meta: Meta): Module {
  const model = create(name, { auxLoss: meta.kwargs.aux_loss, numClasses: meta.kwargs.num_classes });
  loadWeights(model, join(dir, `${name}.pth`));
  return model;
}

const logits = (y: unknown): torch.Tensor => (y instanceof torch.Tensor ? y : (y as { out: torch.Tensor }).out);

for (const name of CASES) {
  test(`${name}: keys and eval outputs equal torchvision's`, (t) => {
    const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Meta;
    const { tensors } = readSafetensors(join(dir, `${name}.safetensors`));
    const model = build(name, meta);
    const sd = model.stateDict();
    assert.deepEqual([...sd.keys()], meta.keys);
    assert.deepEqual([...sd.values()].map((t) => t.shape), meta.shapes);
    model.eval();
    torch.tidy(() => {
      const x = torch.fromRaw(tensors.get('x')!);
      const y = torch.inferenceMode(() => model.call(x));
      const out = torch.fromRaw(tensors.get('out')!);
      assert.ok(maxAbs(logits(y), out) < 1e-4, `out: max abs err ${maxAbs(logits(y), out)} (outputs up to ${maxAbs(out, out.mul(0))})`);
      if (tensors.has('aux')) {
        const aux = torch.fromRaw(tensors.get('aux')!);
        const got = (y as { aux?: torch.Tensor }).aux;
        assert.ok(got, 'the model gave no aux output');
        assert.ok(maxAbs(got, aux) < 1e-4, `aux: max abs err ${maxAbs(got, aux)}`);
      }
      // channels-last with BatchNorm folded: what the fast inference path runs
      model.toChannelsLast();
      fuseConvBn(model);
      const yf = torch.inferenceMode(() => model.call(x.contiguous('channels_last')));
      assert.ok(maxAbs(logits(yf), out) < 1e-4, `fused channels-last out: max abs err ${maxAbs(logits(yf), out)}`);
      t.diagnostic(`max abs err: out ${maxAbs(logits(y), out).toExponential(1)}, fused channels-last ${maxAbs(logits(yf), out).toExponential(1)}; outputs up to ${maxAbs(out, out.mul(0)).toFixed(2)}`);
    });
    model.dispose();
  });
}

for (const name of ['resnet18', 'resnet50', 'lraspp_mobilenet_v3_large']) {
  test(`${name}: train-mode output and every gradient equal torchvision's`, () => {
    const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Meta;
    const { tensors } = readSafetensors(join(dir, `${name}.safetensors`));
    const model = build(name, meta);
    model.train();
    torch.tidy(() => {
      const x = torch.fromRaw(tensors.get('x')!);
      const y = logits(model.call(x));
      const expected = torch.fromRaw(tensors.get('y_train')!);
      assert.ok(maxAbs(y, expected) < 1e-4, `train output: max abs err ${maxAbs(y, expected)}`);
      const weight = torch.linspace(-1, 1, y.numel).reshape(y.shape);
      y.mul(weight).sum().backward();
      for (const [k, p] of model.namedParameters()) {
        const g = p.grad;
        assert.ok(g, `${k} got no gradient`);
        const e = maxRel(g, torch.fromRaw(tensors.get(`grad.${k}`)!));
        assert.ok(e < 1e-4, `gradient of ${k}: rel err ${e}`);
      }
    });
    model.dispose();
  });
}
