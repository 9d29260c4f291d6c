// Worker thread of the DataLoader: rebuilds the dataset from its JSON spec and the transform from
// its JSON steps, then turns batch jobs (dataset indices) into finished batches. Decoding of the
// next queued batch starts while the current one is augmented. Results go back transferred.
import { parentPort, workerData } from 'node:worker_threads';
import type { Sample, SampleRef } from './types.js';
import { Compose } from './transforms/index.js';
import { assembleBatch, startLoads, type BatchBuffers, type FromWorker, type ToWorker, type WorkerInit } from './loader.js';

type LoadFn = (ref: SampleRef, spec: WorkerInit['spec']) => Promise<Sample | null>;

const init = workerData as WorkerInit;
const port = parentPort!;

const mod = (await import(init.sampleModule)) as { loadSample?: LoadFn; tryLoadSample?: LoadFn };
const loadFn = mod.tryLoadSample ?? mod.loadSample;
if (typeof loadFn !== 'function') {
  throw new Error(`DataLoader worker: ${init.sampleModule} exports no loadSample(ref, spec) function`);
}
const compose = new Compose(init.transform, { ignoreIndex: init.ignoreIndex });
const refs = init.spec.refs;
const load = (i: number): Promise<Sample | null> => {
  const ref = refs[i];
  if (!ref) throw new Error(`sample index ${i} is out of range (the spec has ${refs.length} refs)`);
  return loadFn(ref, init.spec);
};

interface Queued {
  id: number;
  epoch: number;
  indices: number[];
  reuse: BatchBuffers;
  loads: ReturnType<typeof startLoads>;
}
let queue: Queued[] = [];
let busy = false;

async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const job = queue.shift()!;
    let msg: FromWorker;
    let transfer: ArrayBuffer[] = [];
    try {
      const r = await assembleBatch(job.indices, job.loads, compose, init.seed, job.epoch, (i) => refs[i], job.reuse);
      msg = { type: 'batch', id: job.id, batch: r.batch, skipped: r.skipped };
      transfer = r.transfer;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      msg = { type: 'error', id: job.id, message: err.message, stack: err.stack };
    }
    port.postMessage(msg, transfer);
  }
  busy = false;
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    queue = [];
    return;
  }
  queue.push({ id: msg.id, epoch: msg.epoch, indices: msg.indices, reuse: msg.reuse, loads: startLoads(msg.indices, load) });
  void pump();
});
