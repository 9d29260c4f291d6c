// The forward-backward half of a training step, shared by the Trainer and the data-parallel
// followers (./parallel/follower.ts), which run it on their own shards of the same step.
import type { Module } from '../nn/index.js';
import { autocast, runAsync, tidy, type Tensor } from '../torch/index.js';
import { batchToTensors } from '../data/to-tensors.js';
import type { Batch } from '../data/types.js';
import type { SegmentationOutput } from '../models/segmentation.js';
import type { LossFn } from './defaults.js';

/**
 * Forward (under bfloat16 autocast when `amp`), loss, and backward of loss x `scale` into the
 * parameters' gradients. Returns the loss values ('loss' and each named term).
 */
export async function forwardBackward(
  model: Module,
  loss: LossFn,
  batch: Batch,
  scale: number,
  opts: { amp: boolean; channelsLast: boolean },
): Promise<Record<string, number>> {
  const names: string[] = ['loss'];
  const plain: Record<string, number> = {};
  // runAsync runs the closure at once (it queues the ops), so names are known when it returns
  const values = await runAsync(() =>
    tidy(() => {
      const { images, masks } = batchToTensors(batch, { channelsLast: opts.channelsLast });
      if (!masks) throw new Error('Trainer: a training batch has no masks; semantic training needs a mask per image');
      const forward = () => loss(model.call(images) as SegmentationOutput, masks);
      const r = opts.amp ? autocast('cpu', forward) : forward();
      r.total.mul(scale).backward();
      const kept: Tensor[] = [r.total.detach()];
      for (const [k, v] of Object.entries(r.terms ?? {})) {
        if (typeof v === 'number') plain[k] = v;
        else (names.push(k), kept.push(v.detach()));
      }
      return kept;
    }),
  );
  const out: Record<string, number> = {};
  values.forEach((t, i) => {
    out[names[i]!] = t.item();
    t.dispose();
  });
  return { ...out, ...plain };
}
