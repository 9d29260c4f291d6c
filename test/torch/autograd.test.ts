// Autograd through segkit: leaves, graphs, backward with and without output gradients,
// accumulation, detach, retainGrad, and the grad modes (noGrad, enableGrad, inferenceMode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward, enableGrad, inferenceMode, isGradEnabled, noGrad, tensor, tidy } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

const close = (a: number[], b: number[], what: string) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-6 * Math.max(1, Math.abs(b[i])), `${what}: [${a}] vs [${b}]`));

test('requiresGrad, leaves and grad_fn', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  assert.equal(x.requiresGrad, true);
  assert.equal(x.info().isLeaf, true);
  assert.equal(x.info().gradFn, null);
  const y = x.mul(2);
  assert.equal(y.requiresGrad, true);
  assert.equal(y.info().isLeaf, false);
  assert.match(y.info().gradFn ?? '', /^MulBackward\d/);
  const plain = tensor([1, 2, 3]);
  assert.equal(plain.requiresGrad, false);
  assert.equal(plain.mul(2).info().gradFn, null);
  plain.requiresGrad = true;
  assert.equal(plain.requiresGrad, true);
  assert.throws(() => tensor([1, 2], { dtype: 'int64' }).requiresGrad_(), /requiresGrad: Only Tensors of floating point/);
})));

test('backward with an output gradient, accumulation, and clearing', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const g = tensor([1, 10, 100]);
  x.mul(x).backward(g); // d(x²)/dx · g = 2x·g
  close(x.grad!.toArray(), [2, 40, 600], 'first backward');
  x.mul(3).sum().backward(); // accumulates 3
  close(x.grad!.toArray(), [5, 43, 603], 'accumulated');
  x.grad!.zero_(); // the returned handle is the gradient itself, as in PyTorch
  close(x.grad!.toArray(), [0, 0, 0], 'zeroed through the handle');
  x.grad = undefined;
  assert.equal(x.grad, undefined);
  x.grad = tensor([7, 8, 9]);
  close(x.grad!.toArray(), [7, 8, 9], 'assigned');
})));

test('backward of several outputs at once, retainGraph, createGraph', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2], { requiresGrad: true });
  const a = x.mul(2);
  const b = x.pow(2);
  backward([a, b], [tensor([1, 1]), tensor([1, 0.5])]);
  close(x.grad!.toArray(), [4, 4], 'd(2x)+0.5·d(x²)'); // 2+2·1·1, 2+2·2·0.5

  const y = tensor([3], { requiresGrad: true });
  const loss = y.pow(2).sum();
  loss.backward(undefined, { retainGraph: true });
  loss.backward();
  close(y.grad!.toArray(), [12], 'two passes over a retained graph');
  assert.throws(() => loss.backward(), /backward: .*backward through the graph a second time/);

  const z = tensor([2], { requiresGrad: true });
  z.pow(3).sum().backward(undefined, { createGraph: true });
  const dz = z.grad!; // 3z² = 12, itself differentiable
  assert.equal(dz.requiresGrad, true);
  close(dz.toArray(), [12], 'first derivative');
  z.grad = undefined;
  dz.sum().backward();
  close(z.grad!.toArray(), [12], 'second derivative 6z');
})));

test('detach and retainGrad', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const y = x.mul(2);
  const d = y.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.info().gradFn, null);
  d.mul_(0); // shares storage with y
  assert.deepEqual(y.toArray(), [0, 0, 0]);

  const h = x.mul(3).retainGrad();
  h.mul(h).sum().backward();
  close(h.grad!.toArray(), [6, 12, 18], 'retained gradient of an intermediate (2h)');
  close(x.grad!.toArray(), [18, 36, 54], 'leaf gradient (18x)');
})));

test('backward errors name backward and say why', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  assert.throws(() => x.mul(2).backward(), (e: Error) => e instanceof Error && /^backward: grad can be implicitly created only for scalar outputs/.test(e.message));
  assert.throws(() => tensor([1]).sum().backward(), /backward: element 0 of tensors does not require grad/);
  assert.throws(() => x.mul(2).backward(tensor([1, 2])), /backward: .*shape/i);
})));

test('noGrad records no graph; enableGrad inside it does; modes restore, also after a throw', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = enableGrad(() => {
      assert.equal(isGradEnabled(), true);
      return x.mul(2);
    });
    assert.match(inner.info().gradFn ?? '', /^MulBackward\d/);
    assert.equal(isGradEnabled(), false, 'enableGrad restored noGrad');
    return x.mul(2);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(y.info().gradFn, null);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true, 'restored after a throw');
  assert.match(x.mul(2).info().gradFn ?? '', /^MulBackward\d/);
})));

test('inferenceMode: no graph, and its tensors cannot join autograd later', withNoLeaks(() => tidy(() => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = inferenceMode(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.deepEqual(y.toArray(), [2, 4]);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => x.mul(y), /aten::mul\.Tensor: Inference tensors cannot be saved for backward/);
})));
