// CPU autocast: inside autocast('cpu'), conv/matmul run in bfloat16 and the result is close to
// float32; outside, nothing changes; the mode is applied on the compute thread too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

const { F } = torch;

test('autocast(cpu) runs conv2d in bfloat16 and keeps float32 outside', withNoLeaks(() => {
  {
    torch.manualSeed(3);
    torch.tidy(() => {
      const x = torch.randn([2, 8, 16, 16]);
      const w = torch.randn([4, 8, 3, 3]).mul(0.1);
      const ref = F.conv2d(x, w, undefined, { padding: 1 });
      const low = torch.autocast('cpu', () => F.conv2d(x, w, undefined, { padding: 1 }));
      assert.equal(ref.dtype, 'float32');
      assert.equal(low.dtype, 'bfloat16');
      // bfloat16 keeps 8 bits of mantissa: relative error around 1e-2
      const err = low.float().sub(ref).abs().max().item() / ref.abs().max().item();
      assert.ok(err < 3e-2, `bfloat16 conv too far from float32: ${err}`);
      assert.ok(err > 0, 'autocast had no effect');
      // leaving the block restores float32
      assert.equal(F.conv2d(x, w).dtype, 'float32');
    });
  }
}));

test('autocast keeps reductions such as cross-entropy in float32 and backward works', withNoLeaks(() => {
  {
    torch.tidy(() => {
      const x = torch.randn([2, 3, 8, 8]);
      const w = torch.randn([4, 3, 3, 3], { requiresGrad: true });
      const target = torch.randint(0, 4, [2, 8, 8]);
      const loss = torch.autocast('cpu', () => F.crossEntropy(F.conv2d(x, w, undefined, { padding: 1 }), target));
      assert.equal(loss.dtype, 'float32');
      loss.backward();
      const g = w.grad!;
      assert.equal(g.dtype, 'float32');
      assert.deepEqual(g.shape, [4, 3, 3, 3]);
    });
  }
}));

test('autocast applies to ops queued by runAsync', withNoLeaks(async () => {
  {
    const x = torch.randn([1, 4, 8, 8]);
    const w = torch.randn([2, 4, 1, 1]);
    const y = await torch.autocast('cpu', () => torch.runAsync(() => F.conv2d(x, w)));
    assert.equal(y.dtype, 'bfloat16');
    for (const t of [x, w, y]) t.dispose();
  }
}));
