// runAsync: ops queued on segkit's compute thread while the event loop stays free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, inferenceMode, isGradEnabled, manualSeed, memory, noGrad, ones, randn, runAsync, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

// a conv stack heavy enough to take tens of milliseconds on 2 cores
function convStack(x: Tensor, w: Tensor, layers = 12): Tensor {
  return tidy(() => {
    let y = x;
    for (let i = 0; i < layers; i++) y = F.conv2d(y, w, undefined, { padding: 1 }).tanh();
    return y;
  });
}

function inputs(): { x: Tensor; w: Tensor } {
  manualSeed(7);
  return tidy(() => ({ x: randn([1, 16, 96, 96]), w: randn([16, 16, 3, 3]).mul(0.1) }));
}

test('runAsync returns a Promise, timers run meanwhile, and results equal the synchronous ones', withNoLeaks(async () => {
  const { x, w } = inputs();
  const sync = convStack(x, w);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const pending = runAsync(() => convStack(x, w));
  assert.ok(pending instanceof Promise);
  const ticksAtReturn = ticks;
  const result = await pending;
  clearInterval(timer);
  assert.equal(ticksAtReturn, 0, 'runAsync returned before any timer could fire');
  assert.ok(ticks > 0, 'the interval fired while the compute thread worked');
  assert.deepEqual(result.shape, [1, 16, 96, 96]);
  assert.ok(result.allclose(sync, 1e-6, 1e-6), 'same values as on the JS thread');
  for (const t of [x, w, sync, result]) t.dispose();
}));

test('reading a pending tensor waits for it, inside the block and after it closed', withNoLeaks(async () => {
  const { x, w } = inputs();
  let inside: number[] = [];
  let y!: Tensor;
  const pending = runAsync(() => {
    y = convStack(x, w, 6);
    inside = y.shape; // waits for the queued convolutions
    return convStack(y, w, 6);
  });
  // the block has closed but its work is still queued: reading and computing must wait, not race
  assert.deepEqual(y.shape, [1, 16, 96, 96]);
  const early = y.sum();
  const z = await pending;
  assert.deepEqual(inside, [1, 16, 96, 96]);
  tidy(() => assert.ok(Math.abs(early.item() - y.sum().item()) < 1e-3));
  tidy(() => assert.ok(z.allclose(convStack(convStack(x, w, 6), w, 6), 1e-6, 1e-6)));
  for (const t of [x, w, y, early, z]) t.dispose();
}));

test('an error inside async work rejects the Promise with the op name; later ops are skipped', withNoLeaks(async () => {
  let after!: Tensor;
  let bad!: Tensor;
  const a = ones([2, 3]);
  await assert.rejects(
    runAsync(() => {
      bad = a.matmul(a); // a shape error, found on the compute thread
      after = bad.add(1);
    }),
    /aten::matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/,
  );
  assert.throws(() => after.shape, /has no value/);
  assert.throws(() => bad.add(1), /aten::add\.Scalar: an argument has no value/);
  // autograd setters refuse it too, instead of changing libtorch's shared undefined tensor
  assert.throws(() => bad.requiresGrad_(true), /^Error: requiresGrad: an argument has no value/);
  assert.throws(() => { bad.grad = undefined; }, /^Error: setGrad: an argument has no value/);
  // a mistake found while converting arguments on the JS thread rejects as well
  await assert.rejects(runAsync(() => a.sum('x' as unknown as number)), /aten::sum\.dim_IntList: argument 'dim'/);
  // autograd entry points name themselves too
  const x = tensor([1, 2], { requiresGrad: true });
  await assert.rejects(runAsync(() => tidy(() => x.mul(2).backward())), /^Error: backward: grad can be implicitly created only for scalar outputs/);
  x.dispose();
  // the queue recovers: the next block works
  const ok = await runAsync(() => a.add(1));
  assert.deepEqual(ok.toArray(), [2, 2, 2, 2, 2, 2]);
  for (const t of [a, bad, after, ok]) t.dispose();
}));

test('grad modes set around runAsync hold on the compute thread', withNoLeaks(async () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const withGrad = await runAsync(() => x.mul(2));
  assert.match(withGrad.info().gradFn ?? '', /^MulBackward/);
  const without = await noGrad(() => runAsync(() => x.mul(2)));
  assert.equal(without.info().gradFn, null);
  assert.equal(without.requiresGrad, false);
  assert.equal(isGradEnabled(), true, 'noGrad restored after the Promise settled');
  const inferred = await inferenceMode(() => runAsync(() => x.mul(2)));
  assert.equal(inferred.requiresGrad, false);
  // backward queued on the compute thread too
  await runAsync(() => tidy(() => x.mul(x).sum().backward()));
  tidy(() => assert.deepEqual(x.grad!.toArray(), [2, 4, 6]));
  for (const t of [x, withGrad, without, inferred]) t.dispose();
}));

test('runAsync refuses nesting and async functions', withNoLeaks(async () => {
  let inner!: Promise<number>;
  const outer = runAsync(() => {
    inner = runAsync(() => 1);
    return 2;
  });
  await assert.rejects(inner, /runAsync: already inside an async block/);
  assert.equal(await outer, 2);
  await assert.rejects(runAsync(async () => 1), /runAsync: the function must be synchronous/);
  // the refused block leaves the queue usable
  const t = await runAsync(() => ones([1]));
  assert.equal(t.item(), 1);
  t.dispose();
}));

test('disposing tensors while their work is queued is safe', withNoLeaks(async () => {
  const { x, w } = inputs();
  const before = memory().tensors;
  let y!: Tensor;
  const pending = runAsync(() => {
    y = convStack(x, w, 4);
    return y.sum();
  });
  x.dispose();
  w.dispose();
  y.dispose();
  const s = await pending;
  assert.ok(Number.isFinite(s.item()));
  s.dispose();
  assert.equal(memory().tensors, before - 2);
}));

test('the leak check sees a leak', async () => {
  let t: Tensor | undefined;
  await assert.rejects(withNoLeaks(() => { t = ones([1]); }), /1 native tensor\(s\) leaked/);
  t!.dispose();
});
