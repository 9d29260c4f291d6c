// The op mappings the registered models do not use (parity.test.ts covers theirs): one small
// module calls each of them, and ONNX Runtime's result at another batch and size equals segkit's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as torch from '../../src/torch/index.js';
import { Conv2d, Module } from '../../src/nn/index.js';
import { exportOnnx, OP_MAPPINGS } from '../../src/export/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const { F } = torch;

class Everything extends Module {
  declare conv: Conv2d;
  constructor() {
    super();
    this.conv = new Conv2d(3, 4, 3, { padding: 1 });
  }
  override forward(x: torch.Tensor): torch.Tensor {
    const [h, w] = x.shape.slice(2);
    const y = this.conv.call(x); // (N, 4, H, W)
    const a = F.leakyRelu(y, 0.2).add(F.silu(y)).sub(F.tanh(y), 0.5).mul(2).div(3); // .Tensor and .Scalar forms
    const b = F.avgPool2d(a, 2, { stride: 2 }); // (N, 4, H/2, W/2)
    const c = F.interpolate(b, { size: [h, w], mode: 'nearest' }); // back to (N, 4, H, W)
    const d = F.relu6(c.add(1)).sub(a.div(y.abs().add(1)));
    const e = F.softmax(d, 1).slice(3, 1).narrow(2, 1, h - 2); // crops that follow the size
    const f = torch.cat([e, F.sigmoid(e).detach().contiguous().clone()], 1); // (N, 8, H-2, W-1)
    return F.dropout(F.interpolate(f, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }), 0.5, false).float();
  }
}

test('leaky_relu, silu, tanh, sub/div, avg_pool2d, nearest resize to a size, hardtanh, softmax, slice, narrow, cat, identities', async () => {
  torch.manualSeed(1);
  const model = new Everything();
  model.eval();
  let session: ort.InferenceSession | undefined;
  const x = torch.randn([2, 3, 23, 31]);
  try {
    const bytes = exportOnnx(model, { inputShape: [1, 3, 16, 20] });
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const ref = torch.inferenceMode(() => model.call(x));
    const expected = ref.data() as Float32Array;
    assert.deepEqual(ref.shape, [2, 8, 42, 60]);
    ref.dispose();
    const { out } = await session.run({ input: new ort.Tensor('float32', x.data() as Float32Array, [2, 3, 23, 31]) });
    assert.deepEqual(out.dims, [2, 8, 42, 60]);
    const got = out.data as Float32Array;
    const maxErr = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    assert.ok(maxErr <= 1e-5, `max abs error ${maxErr}`);
  } finally {
    x.dispose();
    await session?.release();
    model.dispose();
  }
  for (const key of ['leaky_relu', 'silu', 'tanh', 'sub.Tensor', 'div.Scalar', 'avg_pool2d', 'hardtanh', 'softmax.int', 'slice.Tensor']) assert.ok(key in OP_MAPPINGS, key);
});
