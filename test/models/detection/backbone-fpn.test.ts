// Mask R-CNN's ResNet-50-FPN backbone against torchvision 0.14: the `backbone.` keys and shapes of
// a whole torchvision Mask R-CNN (v1 with and without pretrained weights, v2), every FPN level
// ('0'..'3', 'pool') from the same torch.save'd weights (random init, norm statistics perturbed)
// at an odd input size in eval and train mode, gradients and running statistics after a train-mode
// pass, and the parameters trainableLayers 0-5 leave trainable.
// Fixtures: test/fixtures/models/gen_backbone_fpn.py, generated at test time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { loadWeights } from '../../../src/io/weights.js';
import { maskrcnnResnet50FpnBackbone, maskrcnnResnet50FpnV2Backbone, resnetFpnBackbone, type BackboneWithFPN, type MaskRcnnBackboneOptions } from '../../../src/models/index.js';
import { checkLeaksEachTest } from '../../leak.js';
import { generated } from '../generated.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const dir = generated(['models', 'gen_backbone_fpn.py'], ['v1', 'v1_untrained', 'v2']);

interface Meta {
  keys: string[];
  shapes: number[][];
  trainable: Record<string, string[]>;
  levels?: string[];
}
const meta = (name: string): Meta => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Meta;

const BUILDERS: Record<string, (o: MaskRcnnBackboneOptions) => BackboneWithFPN> = {
  v1: (o) => maskrcnnResnet50FpnBackbone(o),
  v1_untrained: (o) => maskrcnnResnet50FpnBackbone({ ...o, pretrained: false }),
  v2: (o) => maskrcnnResnet50FpnV2Backbone(o),
};

/** max |a - b| / max(1, max |b|): absolute for values of order 1, relative for large ones. */
const err = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item() / Math.max(1, b.abs().max().item()));

for (const name of ['v1', 'v1_untrained', 'v2']) {
  test(`${name}: keys and shapes equal torchvision's Mask R-CNN backbone.*`, () => {
    const m = meta(name);
    const model = BUILDERS[name]({});
    const sd = model.stateDict();
    assert.deepEqual([...sd.keys()], m.keys);
    assert.deepEqual([...sd.values()].map((t) => t.shape), m.shapes);
    model.dispose();
  });
}

/** The fixture of `name` (v1 or v2) and our backbone holding the weights torchvision's was run with. */
function withTorchvisionWeights(name: string) {
  const model = BUILDERS[name]({});
  loadWeights(model, join(dir, `${name}.pth`));
  return { m: meta(name), tensors: readSafetensors(join(dir, `${name}.safetensors`)).tensors, model };
}

for (const name of ['v1', 'v2']) {
  test(`${name}: every FPN level equals torchvision's (eval, 2x3x97x131)`, (t) => {
    const { m, tensors, model } = withTorchvisionWeights(name);
    model.eval();
    torch.tidy(() => {
      const x = torch.fromRaw(tensors.get('x')!);
      const levels = torch.inferenceMode(() => model.call(x));
      assert.deepEqual(Object.keys(levels), m.levels);
      const errs = m.levels!.map((k) => {
        const want = torch.fromRaw(tensors.get(`out.${k}`)!);
        assert.deepEqual(levels[k].shape, want.shape, `level ${k}`);
        const e = err(levels[k], want);
        assert.ok(e < 1e-4, `level ${k}: error ${e}`);
        return `${k} ${e.toExponential(1)} (values up to ${want.abs().max().item().toFixed(2)})`;
      });
      t.diagnostic(`errors: ${errs.join(', ')}`);
    });
    model.dispose();
  });
}

for (const name of ['v1', 'v2']) {
  test(`${name}: train mode gives torchvision's levels, gradients and running statistics`, () => {
    const { m, tensors, model } = withTorchvisionWeights(name);
    model.train();
    torch.tidy(() => {
      const x = torch.fromRaw(tensors.get('x')!);
      const levels = model.call(x);
      // v1: FrozenBatchNorm2d keeps computing with its fixed statistics; v2: batch statistics
      const terms = m.levels!.map((k) => {
        const e = err(levels[k], torch.fromRaw(tensors.get(`train.${k}`)!));
        assert.ok(e < 1e-4, `train-mode level ${k}: error ${e}`);
        return levels[k].mul(torch.linspace(-1, 1, levels[k].numel).reshape(levels[k].shape)).sum();
      });
      terms.reduce((a, b) => a.add(b)).backward();
      const params = new Map(model.namedParameters());
      const compared = [...tensors.keys()].filter((k) => k.startsWith('grad.'));
      assert.ok(compared.length >= 23, `the fixture holds ${compared.length} gradients`);
      for (const key of compared) {
        const g = params.get(key.slice('grad.'.length))?.grad;
        assert.ok(g, `${key}: no gradient here`);
        const e = torch.tidy(() => g.sub(torch.fromRaw(tensors.get(key)!)).abs().max().item() / Math.max(g.abs().max().item(), 1e-12));
        assert.ok(e < 1e-4, `${key}: relative error ${e}`);
      }
      for (const [k, p] of params) if (!p.requiresGrad) assert.equal(p.grad, undefined, `${k} is frozen yet got a gradient`);
      const state = model.stateDict();
      for (const key of [...tensors.keys()].filter((k) => k.startsWith('after.'))) {
        const e = err(state.get(key.slice('after.'.length))!, torch.fromRaw(tensors.get(key)!));
        assert.ok(e < 1e-5, `${key}: error ${e}`);
      }
    });
    model.dispose();
  });
}

for (const name of ['v1', 'v2']) {
  test(`${name}: trainableLayers 0-5 leave trainable what torchvision leaves`, () => {
    const m = meta(name);
    for (let n = 0; n <= 5; n++) {
      const model = BUILDERS[name]({ trainableLayers: n });
      const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
      assert.deepEqual(trainable, m.trainable[String(n)], `trainableLayers ${n}`);
      model.dispose();
    }
  });
}

test('v1 untrained: every layer trains and BatchNorm2d is used, as in torchvision', () => {
  const m = meta('v1_untrained');
  const model = maskrcnnResnet50FpnBackbone({ pretrained: false });
  assert.deepEqual(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k), m.trainable['3']);
  model.dispose();
});

test('trainableLayers outside 0-5 is an error naming the value', () => {
  assert.throws(() => maskrcnnResnet50FpnBackbone({ trainableLayers: 6 }), /trainableLayers must be a whole number from 0 to 5.*got 6/);
});

test('resnetFpnBackbone: returnedLayers pick the stages (resnet18, [2, 3, 4]); stages outside 1-4 are an error', () => {
  const model = resnetFpnBackbone('resnet18', { returnedLayers: [2, 3, 4] });
  const sd = model.fpn.stateDict();
  assert.deepEqual([0, 1, 2].map((i) => sd.get(`inner_blocks.${i}.0.weight`)!.shape), [
    [256, 128, 1, 1], [256, 256, 1, 1], [256, 512, 1, 1],
  ]);
  torch.tidy(() => {
    const levels = torch.noGrad(() => model.eval().call(torch.rand([1, 3, 64, 64])));
    assert.deepEqual(Object.entries(levels).map(([k, v]) => [k, v.shape]), [['0', [1, 256, 8, 8]], ['1', [1, 256, 4, 4]], ['2', [1, 256, 2, 2]], ['pool', [1, 256, 1, 1]]]);
  });
  model.dispose();
  assert.throws(() => resnetFpnBackbone('resnet18', { returnedLayers: [0, 5] }), /returnedLayers must be ResNet stages from 1 to 4.*got \[0, 5\]/);
});
