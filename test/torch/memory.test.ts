// Deterministic memory: dispose, tidy scopes, keep, `using`, and memory() accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keep, memory, ones, tensor, tidy, zeros, type Tensor } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

/** The live part of memory(): handles and their storages' bytes (not the allocator's idle cache). */
const live = (): { tensors: number; bytes: number } => {
  const { tensors, bytes } = memory();
  return { tensors, bytes };
};

test('dispose frees at once; a second dispose is harmless; use after dispose throws', withNoLeaks(() => {
  const before = memory();
  const t = zeros([1000]);
  assert.deepEqual(live(), { tensors: before.tensors + 1, bytes: before.bytes + 4000 });
  t.dispose();
  assert.deepEqual(memory(), before);
  assert.equal(t.isDisposed, true);
  t.dispose();
  t[Symbol.dispose]();
  assert.deepEqual(memory(), before);
  for (const use of [() => t.shape, () => t.data(), () => t.item(), () => t.add(1), () => t.info(), () => ones([2]).add(t)]) {
    assert.throws(() => tidy<unknown>(use), /tensor used after dispose\(\)/);
  }
}));

test('memory() counts handles and the bytes of distinct storages', withNoLeaks(() => {
  const base = memory();
  const a = zeros([10, 10]); // 400 bytes
  const b = zeros([10], { dtype: 'int64' }); // 80 bytes
  const c = zeros([3], { dtype: 'bool' }); // 3 bytes
  assert.deepEqual(live(), { tensors: base.tensors + 3, bytes: base.bytes + 483 });
  const v = a.view(100); // a view shares the storage
  const s = a.share();
  const row = a.select(0, 1);
  assert.deepEqual(live(), { tensors: base.tensors + 6, bytes: base.bytes + 483 });
  a.dispose(); // the storage lives on in the views
  assert.deepEqual(live(), { tensors: base.tensors + 5, bytes: base.bytes + 483 });
  for (const t of [v, s, row]) t.dispose();
  assert.equal(memory().bytes, base.bytes + 83);
  b.dispose();
  c.dispose();
}));

test('tidy frees everything but what it returns: a tensor, arrays, objects, Maps of them', withNoLeaks(() => {
  const base = memory().tensors;
  const one = tidy(() => ones([2]).add(1).mul(2));
  assert.equal(memory().tensors, base + 1);
  assert.deepEqual(one.toArray(), [4, 4]);
  one.dispose();

  const res = tidy(() => {
    const a = ones([2]);
    const b = a.add(1);
    a.mul(5); // intermediate, dropped
    return { list: [a, { deep: b }], map: new Map([['m', b.neg()]]), n: 3, label: 'x' };
  });
  assert.equal(memory().tensors, base + 3);
  assert.equal(res.n, 3);
  assert.deepEqual(res.list[0] instanceof Object && (res.list[0] as Tensor).toArray(), [1, 1]);
  assert.deepEqual((res.list[1] as { deep: Tensor }).deep.toArray(), [2, 2]);
  assert.deepEqual(res.map.get('m')!.toArray(), [-2, -2]);
  for (const t of [res.list[0] as Tensor, (res.list[1] as { deep: Tensor }).deep, res.map.get('m')!]) t.dispose();

  const outside = ones([1]);
  tidy(() => {
    outside.add(1); // not returned: freed; the tensor made outside the scope stays
  });
  assert.equal(outside.isDisposed, false);
  assert.equal(memory().tensors, base + 1);
  outside.dispose();
}));

test('nested tidy: the inner result moves to the outer scope', withNoLeaks(() => {
  const base = memory().tensors;
  let inner!: Tensor;
  let innerDropped!: Tensor;
  const outer = tidy(() => {
    inner = tidy(() => {
      innerDropped = ones([2]);
      return innerDropped.add(1);
    });
    assert.equal(innerDropped.isDisposed, true);
    assert.equal(inner.isDisposed, false);
    return inner.mul(3);
  });
  assert.equal(inner.isDisposed, true, 'not returned from the outer scope: freed with it');
  assert.deepEqual(outer.toArray(), [6, 6]);
  assert.equal(memory().tensors, base + 1);
  outer.dispose();
}));

test('tidy frees on a throw, refuses a Promise, and keep() survives scopes', withNoLeaks(() => {
  const base = memory().tensors;
  assert.throws(() => tidy(() => {
    ones([3]).add(1);
    throw new Error('inside');
  }), /inside/);
  assert.equal(memory().tensors, base);

  assert.throws(() => tidy(() => { ones([1]); return Promise.resolve(1); }), /tidy: the function returned a Promise/);
  assert.equal(memory().tensors, base);

  let kept!: Tensor;
  tidy(() => tidy(() => {
    kept = keep(ones([4]));
    ones([4]).keep().dispose();
  }));
  assert.equal(kept.isDisposed, false);
  assert.equal(memory().tensors, base + 1);
  kept.dispose();
}));

test('`using` disposes at the end of the block', withNoLeaks(() => {
  const base = memory().tensors;
  let escaped: Tensor;
  {
    using t = tensor([1, 2, 3]);
    using u = t.mul(2);
    escaped = u;
    assert.equal(memory().tensors, base + 2);
    assert.deepEqual(u.toArray(), [2, 4, 6]);
  }
  assert.equal(escaped.isDisposed, true);
  assert.equal(memory().tensors, base);
  try {
    using t = ones([2]);
    void t;
    throw new Error('leave early');
  } catch {
    // disposed on the way out
  }
  assert.equal(memory().tensors, base);
}));

test('gradients read through .grad are handles of their own', withNoLeaks(() => {
  const x = tensor([1, 2], { requiresGrad: true });
  tidy(() => x.mul(2).sum().backward());
  const base = memory().tensors;
  tidy(() => {
    for (let i = 0; i < 5; i++) assert.deepEqual(x.grad!.toArray(), [2, 2]);
  });
  assert.equal(memory().tensors, base);
  x.dispose();
}));
