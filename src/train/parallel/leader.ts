// Data-parallel training on one machine: the process running the Trainer (rank 0, the leader)
// starts `train.processes - 1` followers (./follower.ts), each with its own libtorch threads and
// its own shard of every global batch (DataLoader `shard`). Through the Trainer's hooks, a step
// goes:
//
//   startStep        leader sends its weights and the step's batch position to every follower
//   (all ranks)      forward + backward on their own batchSize samples, at the same time
//   reduceGradients  leader receives the followers' gradients and BatchNorm statistics, and
//                    replaces its own with the average over all ranks (summed in rank order,
//                    so a rerun is bit for bit the same)
//   applyStep        leader alone clips, steps the optimizer, keeps EMA, validates, checkpoints
//
// The followers keep no state between steps (they get the weights every step), so a resumed
// run restarts them from the leader's checkpoint and continues exactly.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Module } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import type { TrainConfig } from '../config.js';
import type { StepInfo, TrainerHooks } from '../trainer.js';
import { floatBuffers, gather, gatherGrads, scatter, scatterGrads } from './flat.js';
import { exchangeDir, gradsFile, Inbox, meanLosses, removeExchangeDir, weightsFile, type FromFollower, type GradsMessage, type ToFollower } from './messages.js';

interface Follower {
  rank: number;
  child: ChildProcess;
  inbox: Inbox<FromFollower>;
}

export class DataParallel implements Required<Pick<TrainerHooks, 'startStep' | 'reduceGradients'>> {
  private step = -1;
  private closed = false;

  private constructor(
    private readonly followers: Follower[],
    private readonly params: Tensor[],
    private readonly buffers: Tensor[],
    private readonly dir: string,
  ) {}

  get processes(): number {
    return this.followers.length + 1;
  }

  /** Starts the followers of `cfg.train.processes` and waits until each has built its data and model. */
  static async start(cfg: TrainConfig, model: Module, params: Tensor[]): Promise<DataParallel> {
    const count = cfg.train.processes;
    const file = fileURLToPath(new URL('./follower.js', import.meta.url));
    const dir = exchangeDir();
    const followers: Follower[] = [];
    for (let rank = 1; rank < count; rank++) {
      const child = fork(file, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      followers.push({ rank, child, inbox: new Inbox<FromFollower>(child, `data-parallel process ${rank}`) });
      child.send({ type: 'start', config: cfg, rank, count, dir } satisfies ToFollower);
    }
    const dp = new DataParallel(followers, params, floatBuffers(model.buffers()), dir);
    try {
      for (const f of followers) {
        const m = await f.inbox.next();
        if (m.type !== 'ready') throw failure(f, m);
      }
    } catch (e) {
      await dp.close();
      throw e;
    }
    return dp;
  }

  startStep(info: StepInfo): void {
    this.step = info.step;
    weightsFile(this.dir).write(gather([...this.params, ...this.buffers]));
    for (const f of this.followers) f.child.send({ type: 'step', ...info } satisfies ToFollower);
  }

  async reduceGradients(params: Tensor[], losses: Record<string, number>): Promise<Record<string, number>> {
    const replies: GradsMessage[] = [];
    const grads: Float32Array[] = [];
    const stats: Float32Array[] = [];
    const own = gatherGrads(params);
    const ownStats = gather(this.buffers);
    for (const f of this.followers) {
      const m = await f.inbox.next();
      if (m.type !== 'grads' || m.step !== this.step) throw failure(f, m, this.step);
      replies.push(m);
      const both = gradsFile(this.dir, f.rank).read(own.values.length + ownStats.length);
      grads.push(both.subarray(0, own.values.length));
      stats.push(both.subarray(own.values.length));
    }
    const has = own.has.map((h, i) => h || replies.some((r) => r.has[i]));
    scatterGrads(average(own.values, grads), params, has);
    scatter(average(ownStats, stats), this.buffers);
    return meanLosses([losses, ...replies.map((r) => r.losses)]);
  }

  /** Tells the followers to stop and waits for them (killing one that does not exit in 10 s). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.followers.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send({ type: 'stop' } satisfies ToFollower);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    removeExchangeDir(this.dir);
  }
}

/** (own + others[0] + others[1] + ...) / ranks, summed in that order. */
function average(own: Float32Array, others: Float32Array[]): Float32Array {
  const sum = own; // gather returns a fresh array: summed in place
  for (const o of others) {
    if (o.length !== sum.length) throw new Error(`data-parallel: a process sent ${o.length} values where the leader has ${sum.length}; the processes' models differ`);
    for (let i = 0; i < sum.length; i++) sum[i]! += o[i]!;
  }
  const n = others.length + 1;
  for (let i = 0; i < sum.length; i++) sum[i]! /= n;
  return sum;
}

function failure(f: Follower, m: FromFollower, step?: number): Error {
  if (m.type === 'error') return new Error(`data-parallel process ${f.rank} failed: ${m.message}`);
  return new Error(`data-parallel process ${f.rank}: expected ${step === undefined ? 'ready' : `the gradients of step ${step}`}, got '${m.type}'${m.type === 'grads' ? ` of step ${m.step}` : ''}`);
}
