// Every registered semantic model, exported to ONNX once and run by ONNX Runtime at two input
// sizes (and batch sizes) other than the one it was traced at: the logits equal segkit's within
// 1e-4. The models are small-class random ones whose BatchNorm statistics come from one
// calibration batch (variance floored at 0.1), so activations stay near 1 as in a trained
// model; without the floor, channels of near-zero variance amplify float32 rounding ~300-fold
// and segkit's own float32 result is then 5e-4 from its float64 one on fcn_resnet101.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as torch from '../../src/torch/index.js';
import { create, listModels, type SegmentationOutput } from '../../src/models/index.js';
import { BatchNorm2d, type Module } from '../../src/nn/index.js';
import { exportOnnx } from '../../src/export/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const NUM_CLASSES = 3;
const small: Record<string, Record<string, unknown>> = { unet: { baseWidth: 4, depth: 3 } };
// traced at 1x3x64x64; checked at other batch sizes and at sizes that are no multiple of 16 or 32
const SIZES: [number, number, number][] = [[2, 96, 80], [1, 37, 53]];

function calibrated(name: string): Module {
  torch.manualSeed(0);
  const model = create(name, { numClasses: NUM_CLASSES, ...(small[name] ?? {}) });
  const norms = model.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  for (const bn of norms) bn.momentum = null; // running statistics = the calibration batch's
  model.train();
  torch.noGrad(() => torch.tidy(() => void model.call(torch.randn([2, 3, 64, 64]))));
  model.eval();
  torch.noGrad(() => {
    for (const bn of norms) bn.running_var!.add_(0.1);
  });
  return model;
}

for (const entry of listModels('semantic')) {
  test(`${entry.name}: ONNX Runtime runs the export at other sizes with segkit's logits`, async (t) => {
    const model = calibrated(entry.name);
    let session: ort.InferenceSession | undefined;
    try {
      const bytes = exportOnnx(model, { inputShape: [1, 3, 64, 64] });
      session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      assert.deepEqual(session.inputNames, ['input']);
      assert.deepEqual(session.outputNames, ['out']);
      for (const [n, h, w] of SIZES) {
        const x = torch.randn([n, 3, h, w]);
        try {
          const ref = torch.inferenceMode(() => (model.call(x) as SegmentationOutput).out);
          const expected = ref.data() as Float32Array;
          ref.dispose();
          const { out }: ort.InferenceSession.OnnxValueMapType = await session.run({ input: new ort.Tensor('float32', x.data() as Float32Array, [n, 3, h, w]) });
          assert.deepEqual(out.dims, [n, NUM_CLASSES, h, w]);
          const got = out.data as Float32Array;
          let maxErr = 0;
          let maxOut = 0;
          for (let i = 0; i < expected.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(expected[i] - got[i]));
            maxOut = Math.max(maxOut, Math.abs(expected[i]));
          }
          t.diagnostic(`${n}x3x${h}x${w}: max abs error ${maxErr.toExponential(2)}, outputs up to ${maxOut.toFixed(2)}`);
          assert.ok(maxErr <= 1e-4, `${entry.name} at ${n}x3x${h}x${w}: max abs error ${maxErr} > 1e-4 (outputs up to ${maxOut})`);
          assert.ok(maxOut > 0.05, 'the outputs are not all near zero (a test that could not fail)');
        } finally {
          x.dispose();
        }
      }
    } finally {
      await session?.release();
      model.dispose();
    }
  });
}
