// A data-parallel follower: a process started by the leader (./leader.ts) that trains on its
// shard of every step's batches. Each step it takes the leader's weights, runs forward and
// backward on its own batches, and sends back its gradients and BatchNorm statistics; the leader
// averages them with its own and takes the optimizer step. A follower keeps no optimizer, writes
// no files, and exits when the leader says stop or goes away.
import { setNumThreads } from '../../torch/index.js';
import { buildData, buildModel, weightsByName } from '../setup.js';
import { defaultLoss } from '../defaults.js';
import { seedStep } from '../rng.js';
import { forwardBackward } from '../step.js';
import { semanticTask } from '../task.js';
import { mixSeed } from '../../data/transforms/rng.js';
import type { Batch } from '../../data/types.js';
import { floatBuffers, gather, gatherGrads, scatter } from './flat.js';
import { gradsFile, Inbox, meanLosses, weightsFile, type FromFollower, type StartMessage, type ToFollower } from './messages.js';

function send(m: FromFollower): void {
  process.send!(m);
}

async function follow(): Promise<void> {
  const inbox = new Inbox<ToFollower>(process);
  const start = (await inbox.next()) as StartMessage;
  const { config: cfg, rank, count } = start;
  const weightsIn = weightsFile(start.dir);
  const gradsOut = gradsFile(start.dir, rank);
  if (cfg.threads !== undefined) setNumThreads(cfg.threads);
  const data = await buildData(cfg, { shard: { rank, count } });
  const model = buildModel(cfg, data.task);
  const loss = defaultLoss(cfg, data.task, data.stats && weightsByName(data.stats));
  const task = semanticTask(loss);
  const params = model.parameters().filter((p) => p.requiresGrad); // the optimizer's order (setup.ts buildOptimizer)
  const buffers = floatBuffers(model.buffers());
  const weights = [...params, ...buffers]; // what the leader's weights file holds, in its order
  const weightCount = weights.reduce((n, t) => n + t.numel, 0);
  const loader = data.trainLoader;
  let batches: AsyncIterator<Batch> | undefined;
  model.train();
  send({ type: 'ready' });
  try {
    for (;;) {
      const m = await inbox.next();
      if (m.type === 'stop') break;
      if (m.type !== 'step') throw new Error(`data-parallel process ${rank}: unexpected message '${m.type}'`);
      // the leader's position: after a resume, an epoch's end or a stop mid-epoch, start there
      const at = loader.state();
      if (!batches || at.epoch !== m.epoch || at.position !== m.position) {
        await batches?.return?.();
        loader.loadState({ ...at, epoch: m.epoch, position: m.position });
        batches = loader[Symbol.asyncIterator]();
      }
      scatter(weightsIn.read(weightCount), weights);
      seedStep(mixSeed(cfg.seed, rank), m.step); // this rank's own dropout masks, the same on a resume
      const losses: Record<string, number>[] = [];
      for (let k = 0; k < m.batches; k++) {
        const next = await batches.next();
        if (next.done) throw new Error(`data-parallel process ${rank}: the loader ended before batch ${m.position + k} of epoch ${m.epoch}`);
        losses.push(await forwardBackward(model, task, next.value, 1 / m.batches, { amp: m.amp, channelsLast: cfg.model.channelsLast }));
      }
      const { values, has } = gatherGrads(params);
      for (const p of params) p.grad = undefined;
      const stats = gather(buffers);
      const out = new Float32Array(values.length + stats.length);
      out.set(values);
      out.set(stats, values.length);
      gradsOut.write(out);
      send({ type: 'grads', step: m.step, has, losses: meanLosses(losses) });
    }
  } finally {
    await batches?.return?.();
    loss.dispose?.();
    model.dispose();
    await loader.close();
    await data.valLoader.close();
  }
}

process.on('disconnect', () => process.exit(0)); // the leader is gone
process.on('SIGINT', () => {}); // Ctrl-C reaches the whole process group: the leader decides (it stops after the step)
follow().then(
  () => process.disconnect(),
  (e: Error) => {
    send({ type: 'error', message: e.stack ?? e.message });
    process.exitCode = 1;
    process.disconnect();
  },
);
