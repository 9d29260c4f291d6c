// The one thing prediction needs from a model: its forward pass. A Forward takes a normalised batch
// (N, C, H, W) float32 and gives the logits (N, K, H, W) at the same size; everything around it
// (normalisation, test-time scales and flips, sliding windows, probabilities, thresholds, class
// ids) is shared, so a libtorch Module and an ONNX Runtime session predict alike.
//
//   const forward = moduleForward(model);            // libtorch
//   const forward = (await openOnnx('m.onnx')).forward;  // ONNX Runtime (src/ort)
//   const probs = await predictProbabilities(forward, x, { flip: true });
import { Tensor, inferenceMode, runAsync, tidy } from '../torch/index.js';
import { deviceOf, type Module } from '../nn/index.js';
import type { SegmentationOutput } from '../models/segmentation.js';

/**
 * A forward pass: logits for a normalised batch, as a new tensor the caller owns (and disposes).
 * It must not dispose or keep `x`.
 */
export type Forward = (x: Tensor) => Tensor | Promise<Tensor>;

/**
 * The forward pass of a Module in eval mode: its output tensor, or the `out` of `{ out, aux }`.
 * It runs on segkit's compute thread (runAsync), so timers, progress output and servers keep
 * running meanwhile.
 */
export function moduleForward(model: Module): Forward {
  const device = deviceOf(model); // a model on CUDA gets its input there and gives its logits back on the CPU
  return (x) =>
    runAsync(() =>
      inferenceMode(() =>
        tidy(() => {
          const y = (model as Module & { call(x: Tensor): Tensor | SegmentationOutput }).call(device === 'cpu' ? x : x.to({ device }));
          const out = y instanceof Tensor ? y : y.out;
          return device === 'cpu' ? out : out.to({ device: 'cpu' });
        }),
      ),
    );
}

/** A Forward as it is, or a Module's forward pass. */
export const forwardOf = (model: Module | Forward): Forward => (typeof model === 'function' ? model : moduleForward(model));
