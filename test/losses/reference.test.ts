// Every loss against an independent float64 reference (test/fixtures/losses/gen_losses.py: the
// papers' definitions in plain torch/numpy, gradients by autograd): the value and the gradient
// w.r.t. the logits within 1e-5 relative error (max |a − e| / max |e|), on random 2×4×7×9 logits
// and targets with ignored (255) pixels, one case with a wholly ignored image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import * as losses from '../../src/losses/index.js';
import { fromRaw, type Tensor } from '../../src/torch/index.js';
import { assertClose } from '../nn/helpers.js';
import type { RawTensor } from '../../src/io/raw.js';

checkLeaksEachTest();

interface Case {
  name: string;
  fn: string;
  logits: string;
  target: string;
  opts: Record<string, unknown>;
}

const { tensors, metadata } = readSafetensors(fixture('losses', 'losses.safetensors'));
const cases = JSON.parse(metadata.cases) as Case[];
const raw = (key: string): RawTensor => {
  const r = tensors.get(key);
  assert.ok(r, `fixture has no ${key}`);
  return r;
};
const scalar = (key: string): number => new Float64Array(new Uint8Array(raw(key).data).buffer)[0];
type LossFn = (x: Tensor, y: Tensor, opts: Record<string, unknown>) => Tensor;

function assertValue(actual: number, expected: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(err < 1e-5, `${what}: ${actual} vs reference ${expected} (relative error ${err.toExponential(2)})`);
}

for (const c of cases) {
  test(`${c.name}: ${c.fn}(${JSON.stringify(c.opts)}) matches the reference (value and gradient)`, () => {
    const fn = (losses as unknown as Record<string, LossFn>)[c.fn];
    assert.ok(fn, `segkit losses has no ${c.fn}`);
    const x = fromRaw(raw(c.logits)).requiresGrad_(true);
    const y = fromRaw(raw(c.target));
    const loss = fn(x, y, { ignoreIndex: 255, ...c.opts });
    assert.deepEqual(loss.shape, [], 'a scalar');
    assertValue(loss.item(), scalar(`${c.name}/value`), 'value');
    loss.backward();
    const grad = x.grad!;
    assertClose(grad, raw(`${c.name}/grad`), 'gradient w.r.t. the logits');
    for (const t of [x, y, loss, grad]) t.dispose();
  });
}

test('the fixture covers every loss function segkit exports', () => {
  const names = new Set(cases.map((c) => c.fn));
  for (const f of ['crossEntropyLoss', 'bceWithLogitsLoss', 'focalLoss', 'binaryFocalLoss', 'diceLoss', 'binaryDiceLoss', 'tverskyLoss', 'binaryTverskyLoss', 'lovaszSoftmaxLoss', 'lovaszHingeLoss', 'boundaryLoss', 'binaryBoundaryLoss']) {
    assert.ok(names.has(f), `no fixture case for ${f}`);
  }
});

test("buildLoss: report 000's focal 1.0 + dice 0.5 with an aux head weighted 0.4 matches the reference", () => {
  const loss = losses.buildLoss(JSON.parse(metadata.combined_spec));
  const out = fromRaw(raw('logits')).requiresGrad_(true);
  const aux = fromRaw(raw('logits_aux')).requiresGrad_(true);
  const y = fromRaw(raw('target'));
  const { total, terms } = loss({ out, aux }, y);
  assertValue(total.item(), scalar('combined/value'), 'total');
  const want = JSON.parse(metadata.combined_terms) as Record<string, number>;
  assert.deepEqual(Object.keys(terms).sort(), Object.keys(want).sort(), 'term names');
  for (const [k, v] of Object.entries(want)) assertValue(terms[k], v, `term ${k}`);
  total.backward();
  const [g, ga] = [out.grad!, aux.grad!];
  assertClose(g, raw('combined/grad'), 'gradient w.r.t. out');
  assertClose(ga, raw('combined/grad_aux'), 'gradient w.r.t. aux');
  for (const t of [out, aux, y, total, g, ga]) t.dispose();
});
