// Intra-op threads: the default is the cores this process may use; set/get round-trips and
// reaches libtorch itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { buildInfo, getNumThreads, ones, runAsync, setNumThreads, tidy } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

const libtorchThreads = (): number => Number(/at::get_num_threads\(\) : (\d+)/.exec(buildInfo().parallel)?.[1]);

test('the default thread count is the number of available cores', () => {
  assert.equal(getNumThreads(), availableParallelism());
  assert.equal(libtorchThreads(), availableParallelism());
});

test('setNumThreads/getNumThreads round-trip, reach libtorch, and refuse nonsense', withNoLeaks(async () => {
  const original = getNumThreads();
  try {
    for (const n of [1, 3, original]) {
      setNumThreads(n);
      assert.equal(getNumThreads(), n);
      assert.equal(libtorchThreads(), n);
      // ops still run, on the JS thread and on the compute thread
      const s = await runAsync(() => tidy(() => ones([64, 64]).matmul(ones([64, 64])).sum()));
      assert.equal(s.item(), 64 * 64 * 64);
      s.dispose();
      tidy(() => assert.equal(ones([64, 64]).matmul(ones([64, 64])).sum().item(), 64 * 64 * 64));
    }
    for (const bad of [0, -2, 1.5, NaN]) assert.throws(() => setNumThreads(bad), /setNumThreads: need a whole number of threads >= 1/);
    assert.equal(getNumThreads(), original);
  } finally {
    setNumThreads(original);
  }
}));
