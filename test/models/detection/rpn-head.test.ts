// RPNHead and concatBoxPredictionLayers against torchvision 0.14 (test/fixtures/detection/gen_rpn.py):
// parameter names and shapes, per-level logits and deltas from the same random weights (one and two
// shared convs, two levels, batch 2), the flattened objectness and deltas, the pre-0.13 key
// `conv.weight`, and torchvision's initialisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { RPNHead, concatBoxPredictionLayers } from '../../../src/models/index.js';
import { loadRpn, rpnFixture } from './rpn-fixture.js';
import { checkLeaksEachTest } from '../../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

/** The head's torchvision state dict, keys without the fixture prefix (the caller disposes it). */
const weights = (depth: number): Map<string, torch.Tensor> => {
  const prefix = `head/${depth}/w/`;
  return new Map([...rpnFixture.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), loadRpn(k)]));
};
const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => {
  assert.deepEqual(a.shape, b.shape);
  return torch.tidy(() => a.sub(b).abs().max().item());
};

for (const depth of [1, 2]) {
  test(`conv depth ${depth}: torchvision's keys; logits, deltas and their flattening equal torchvision's`, () => {
    const sd = weights(depth);
    const head = new RPNHead(8, 3, depth);
    assert.deepEqual([...head.stateDict().keys()], [...sd.keys()]);
    head.loadStateDict(sd);
    torch.tidy(() => {
      const xs = [loadRpn(`head/${depth}/x0`), loadRpn(`head/${depth}/x1`)];
      const { logits, deltas } = head.forward(xs);
      logits.forEach((l, i) => assert.ok(maxDiff(l, loadRpn(`head/${depth}/logits${i}`)) < 1e-5, `logits${i}`));
      deltas.forEach((d, i) => assert.ok(maxDiff(d, loadRpn(`head/${depth}/deltas${i}`)) < 1e-5, `deltas${i}`));
      const flat = concatBoxPredictionLayers(logits, deltas);
      assert.equal(maxDiff(flat.objectness, loadRpn(`head/${depth}/objectness`)), 0);
      assert.equal(maxDiff(flat.deltas, loadRpn(`head/${depth}/regression`)), 0);
    });
    for (const t of sd.values()) t.dispose();
    head.dispose();
  });
}

test('a state dict from before torchvision 0.13 (conv.weight) loads into conv.0.0.*', () => {
  const sd = weights(1);
  const old = new Map([...sd].map(([k, t]) => [k.replace(/^conv\.0\.0\./, 'conv.'), t]));
  assert.ok(old.has('conv.weight') && old.has('conv.bias'));
  const head = new RPNHead(8, 3);
  head.loadStateDict(old);
  assert.equal(maxDiff(head.stateDict().get('conv.0.0.weight')!, sd.get('conv.0.0.weight')!), 0);
  for (const t of sd.values()) t.dispose();
  head.dispose();
});

test("torchvision's initialisation: weights N(0, 0.01), biases zero", () => {
  torch.manualSeed(0);
  const head = new RPNHead(64, 3);
  for (const [k, t] of head.stateDict()) {
    torch.tidy(() => {
      if (k.endsWith('bias')) assert.equal(t.abs().max().item(), 0, k);
      else if (t.numel > 1000) assert.ok(Math.abs(t.std().item() - 0.01) < 0.001 && Math.abs(t.mean().item()) < 0.001, k);
    });
  }
  head.dispose();
});
