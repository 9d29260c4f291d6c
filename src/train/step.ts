// The forward-backward half of a training step, shared by the Trainer and the data-parallel
// followers (./parallel/follower.ts), which run it on their own shards of the same step.
import type { Module } from '../nn/index.js';
import { autocast, runAsync, tidy, type Tensor } from '../torch/index.js';
import type { Batch } from '../data/types.js';
import type { TrainTask } from './task.js';

export interface StepOptions {
  /** Autocast: bfloat16 on CPU, float16 on CUDA. */
  amp: boolean;
  channelsLast: boolean;
  /** Where the model is ('cpu', 'cuda:0'); the batch goes there. Default 'cpu'. */
  device?: string;
}

/**
 * Forward (under autocast when `amp`), loss, and backward of loss x `scale` into the parameters'
 * gradients (`scale` holds 1/accumulation and any loss scaling). Returns the loss values ('loss'
 * and each named term), unscaled.
 */
export async function forwardBackward(model: Module, task: TrainTask, batch: Batch, scale: number, opts: StepOptions): Promise<Record<string, number>> {
  const device = opts.device ?? 'cpu';
  const onCuda = device.startsWith('cuda');
  const names: string[] = ['loss'];
  const plain: Record<string, number> = {};
  // runAsync runs the closure at once (it queues the ops), so names are known when it returns
  const values = await runAsync(() =>
    tidy(() => {
      const forward = () => task.loss(model, batch, { device, channelsLast: opts.channelsLast });
      const r = opts.amp ? autocast(onCuda ? 'cuda' : 'cpu', forward) : forward();
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
