// tensor(typedArray, { copy: false }) uses the array's memory: writes show on both sides, and the
// tensor keeps the memory alive after JS drops the array.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';
import { repoRoot } from '../paths.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test("a shared tensor and its array see each other's writes", withNoLeaks(() => {
  const arr = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = torch.tensor(arr, { shape: [2, 3], copy: false });
  arr[0] = 10;
  assert.equal(t.toArray()[0], 10);
  t.mul_(2);
  assert.deepEqual(Array.from(arr), [20, 4, 6, 8, 10, 12]);
  // a copy does not share
  const c = torch.tensor(arr, { shape: [2, 3] });
  arr[1] = -1;
  assert.equal(c.toArray()[1], 4);
  for (const x of [t, c]) x.dispose();
}));

test('the shared memory outlives the JS array reference', withNoLeaks(() => {
  const make = () => torch.tensor(new Int32Array([7, 8, 9]), { copy: false });
  const t = make();
  for (let i = 0; i < 3; i++) {
    gc();
    new Array(1e5).fill(0).map((_, k) => new Float64Array(8 + (k % 5))); // churn the heap
  }
  assert.deepEqual(t.toArray(), [7, 8, 9]);
  const doubled = t.mul(2);
  assert.deepEqual(doubled.toArray(), [14, 16, 18]);
  for (const x of [t, doubled]) x.dispose();
  gc();
}));

test('copy: false refuses a conversion and a wrong size', withNoLeaks(() => {
  assert.throws(() => torch.tensor(new Float32Array(4), { copy: false, dtype: 'float64' }), /cannot also convert/);
  assert.throws(() => torch.tensor(new Float32Array(4), { copy: false, shape: [5] }), /needs 20 bytes, got 16/);
}));

test('the process exits cleanly while a shared tensor is still alive', () => {
  // its memory's reference is released on the JS thread, which is gone by then
  const url = new URL(`file://${join(repoRoot, 'dist', 'src', 'torch', 'index.js')}`).href;
  const code = `const torch = await import(${JSON.stringify(url)}); globalThis.t = torch.tensor(new Float32Array(8), { copy: false });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, `exit status ${r.status} (signal ${r.signal}): ${r.stderr}`);
});
