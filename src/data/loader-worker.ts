// Worker thread of the DataLoader: rebuilds the dataset from its JSON spec and the transform from
// its JSON steps, then turns batch jobs (dataset indices) into finished batches. Decoding of the
// next queued batch starts while the current one is augmented. Results go back transferred.
import { parentPort, workerData } from 'node:worker_threads';
import type { Sample, SampleRef } from './types.js';
import { Compose } from './transforms/index.js';
import { assembleBatch, startLoads, type BatchBuffers, type FromWorker, type SlotReply, type ToWorker, type WorkerInit } from './loader.js';

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
  slot?: number;
  loads: ReturnType<typeof startLoads>;
}
let queue: Queued[] = [];
let busy = false;
// Batch slots (recycle mode): SharedArrayBuffers the main thread holds too, rewritten in place.
const slots = new Map<number, BatchBuffers>();
const EMPTY = new Float32Array(0);

async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const job = queue.shift()!;
    let msg: FromWorker;
    let transfer: ArrayBuffer[] = [];
    try {
      const reuse = job.slot === undefined ? {} : (slots.get(job.slot) ?? {});
      const r = await assembleBatch(job.indices, job.loads, compose, init.seed, job.epoch, (i) => refs[i], reuse, job.slot !== undefined, init.imageList);
      transfer = r.transfer;
      if (job.slot === undefined) {
        msg = { type: 'batch', id: job.id, batch: r.batch, skipped: r.skipped };
      } else {
        const { images, masks, ...rest } = r.batch;
        const fresh = images.buffer !== reuse.images || masks?.buffer !== reuse.masks;
        if (fresh) slots.set(job.slot, { images: images.buffer, masks: masks?.buffer });
        const slot: SlotReply = { id: job.slot, imagesLength: images.length, masksLength: masks?.length };
        if (fresh) slot.buffers = { images: images.buffer, masks: masks?.buffer };
        msg = { type: 'batch', id: job.id, batch: { ...rest, images: EMPTY }, skipped: r.skipped, slot };
      }
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
  queue.push({ id: msg.id, epoch: msg.epoch, indices: msg.indices, slot: msg.slot, loads: startLoads(msg.indices, load) });
  void pump();
});
