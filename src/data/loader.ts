// The data loader: decodes and augments samples in worker threads and hands out batches in
// order, ready to become tensors.
//
//   const loader = new DataLoader(dataset, { batchSize: 8, shuffle: true, seed: 1, numWorkers: 2,
//                                            transform: trainPreset(512) });
//   for await (const batch of loader) { ... }   // one epoch per loop
//   await loader.close();
//
// Reproducibility: the epoch's order comes from (seed, epoch) and each sample's augmentation
// from (seed, epoch, dataset index), so batches are the same whatever the number of workers or
// their timing. `state()` after a batch, saved and given to `loadState()` on a fresh loader,
// makes the resumed run see exactly the remaining batches of that epoch, then the next epochs.
//
// Workers rebuild samples from the dataset's JSON spec (`toSpec()`) with `loadSample` of
// ./dataset.js (or `sampleModule`); each worker assembles whole batches straight into the batch
// buffers (the last resize writes normalised floats directly) and transfers them, so nothing is
// copied on the way back. With `recycle`, batches live in SharedArrayBuffer slots that are
// rewritten in place, so nothing is allocated or moved per batch either.
import { Worker } from 'node:worker_threads';
import type { Batch, BatchImage, Instance, Sample, SampleRef } from './types.js';
import { Compose, type StepConfig } from './transforms/index.js';
import { Rng } from './transforms/rng.js';

/** What the loader needs from a dataset (SegDataset fits). */
export interface LoaderDataset {
  readonly length: number;
  get(i: number): Promise<Sample>;
  /** Like get, but null for a bad file skipped under the dataset's policy. */
  tryGet?(i: number): Promise<Sample | null>;
  /** JSON spec the workers rebuild samples from (needed when numWorkers > 0). */
  toSpec?(): { refs: SampleRef[] };
  /** The dataset's label map: its ignore index is the loader's default padding value. */
  readonly labelMap?: { readonly ignoreIndex: number };
}

export interface DataLoaderOptions {
  batchSize?: number; // default 1
  shuffle?: boolean; // default false
  seed?: number; // default 0
  dropLast?: boolean; // default false: the last batch may be smaller
  /** Worker threads; 0 decodes and augments on the calling thread. Default 0. */
  numWorkers?: number;
  /** Batches queued per worker (or ahead of the consumer when numWorkers is 0). Default 2. */
  prefetch?: number;
  /** Augmentation pipeline as JSON steps (workers rebuild it); default none (ToTensor only). */
  transform?: StepConfig[];
  /** Mask value for padded/rotated-in pixels; kept as is in batches. Default: the dataset label
   *  map's ignore index, else 255. */
  ignoreIndex?: number;
  /** Module exporting loadSample(ref, spec) (and optionally tryLoadSample) for the workers. */
  sampleModule?: string | URL;
  /**
   * Reuse batch memory: a batch's `images` and `masks` stay valid while the loop handles it and
   * the next one, and are OVERWRITTEN by a later batch after that: copy them (or turn them into
   * tensors) before. With workers they are views on SharedArrayBuffers written in place, so
   * no 4 x N x C x H x W bytes are allocated, moved and collected per batch (about a fifth of the
   * loader's CPU time on 512x512 batches). Default false: every batch gets fresh arrays.
   */
  recycle?: boolean;
  /**
   * Data-parallel training: this loader is process `rank` of `count`, each taking its own
   * `batchSize` samples of every global batch of batchSize x count (same seed, same order on
   * every rank, so together they see each sample once per epoch). An incomplete last global
   * batch is left out of that epoch, so every rank has the same number of batches.
   */
  shard?: { rank: number; count: number };
  /**
   * Detection: deliver every image at its own size (batch.list, one float32 (C, H, W) array and
   * mask each, with batch.instances) instead of one (N, C, H, W) array; samples need not share a
   * size. detectionInputs() (./detection-inputs.js) turns such a batch into model inputs.
   * Not with `recycle`. Default false.
   */
  imageList?: boolean;
}

export interface LoaderState {
  epoch: number;
  /** Batches of `epoch` already delivered. */
  position: number;
  seed: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  samples: number;
  /** Data-parallel processes the batches were sharded over (absent: 1). */
  shards?: number;
}

/** A sample left out of its batch because its file was bad and the dataset's policy is 'skip'. */
export interface SkippedSample {
  index: number;
  ref: SampleRef;
}

// ---- batch assembly (shared by the calling thread and the workers) ---------------------------

type Loaded = { sample: Sample | null } | { error: unknown };

/** Start decoding all samples of a batch at once; failures are captured, not thrown. */
export function startLoads(indices: readonly number[], load: (i: number) => Promise<Sample | null>): Promise<Loaded>[] {
  return indices.map((i) =>
    Promise.resolve()
      .then(() => load(i))
      .then(
        (sample) => ({ sample }),
        (error: unknown) => ({ error }),
      ),
  );
}

function describe(ref: SampleRef | undefined, index: number): string {
  if (!ref) return `sample #${index}`;
  return `sample "${ref.id}" (#${index}, ${ref.imagePath}${ref.maskPath ? `, mask ${ref.maskPath}` : ''})`;
}

/** An error about one sample, naming it and its files. */
export class SampleError extends Error {
  constructor(
    readonly index: number,
    readonly ref: SampleRef | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`DataLoader: ${describe(ref, index)}: ${message}`, options);
    this.name = 'SampleError';
  }
}

/** Buffers a batch may be written into (a recycled batch slot). */
export interface BatchBuffers {
  images?: ArrayBufferLike;
  masks?: ArrayBufferLike;
}

function floatsIn(buf: ArrayBufferLike | undefined, n: number, shared: boolean): Float32Array {
  if (buf && buf.byteLength >= n * 4) return new Float32Array(buf, 0, n);
  return new Float32Array(shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4));
}
function intsIn(buf: ArrayBufferLike | undefined, n: number, shared: boolean): Int32Array {
  if (buf && buf.byteLength >= n * 4) return new Int32Array(buf, 0, n);
  return new Int32Array(shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4));
}

export interface AssembledBatch {
  batch: Batch;
  skipped: SkippedSample[];
  transfer: ArrayBuffer[];
}

/**
 * Augment the loaded samples (seeded by seed, epoch and dataset index) and write them into one
 * batch: images (N, C, H, W) float32, masks (N, H, W) int32, instances as lists. Every sample
 * must come out the same size; the error names the first one that does not. With `imageList`,
 * each sample gets its own arrays (batch.list) and sizes may differ.
 */
export async function assembleBatch(
  indices: readonly number[],
  loads: Promise<Loaded>[],
  compose: Compose,
  seed: number,
  epoch: number,
  refOf: (i: number) => SampleRef | undefined,
  reuse: BatchBuffers = {},
  shared = false,
  imageList = false,
): Promise<AssembledBatch> {
  const N = indices.length;
  let images: Float32Array | undefined;
  let masks: Int32Array | undefined;
  let shape: [number, number, number] | undefined;
  let first: Sample | undefined;
  let hasInstances = false;
  const refs: SampleRef[] = [];
  const instances: Instance[][] = [];
  const skipped: SkippedSample[] = [];
  const list: BatchImage[] = [];
  let n = 0;
  for (let k = 0; k < N; k++) {
    const index = indices[k]!;
    const loaded = await loads[k]!;
    if ('error' in loaded) {
      const e = loaded.error;
      throw new SampleError(index, refOf(index), e instanceof Error ? e.message : String(e), { cause: e });
    }
    if (loaded.sample === null) {
      const ref = refOf(index);
      if (ref) skipped.push({ index, ref });
      continue;
    }
    // The batch slot is claimed once the sample's final size is known; the first sample fixes
    // the batch's shape and allocates (or reuses) its arrays.
    const claim = (cur: Sample, C: number, H: number, W: number) => {
      if (imageList) return claimOwn(cur, C, H, W);
      if (!shape || !first) {
        shape = [C, H, W];
        first = cur;
        images = floatsIn(reuse.images, N * C * H * W, shared);
        if (cur.mask) masks = intsIn(reuse.masks, N * H * W, shared);
      } else if (shape[0] !== C || shape[1] !== H || shape[2] !== W) {
        throw new SampleError(
          index,
          cur.ref,
          `is ${C}x${H}x${W} (CxHxW) after transforms but ${describe(first.ref, indices[0]!)} in the same batch is ${shape.join('x')}; ` +
            'batched samples must share one size: end the transform with randomCrop/centerCrop/resize+pad to a fixed size, or use batchSize 1',
        );
      }
      if (!!cur.mask !== !!masks) {
        throw new SampleError(index, cur.ref, `${cur.mask ? 'has' : 'has no'} mask but ${describe(first.ref, indices[0]!)} in the same batch ${masks ? 'has one' : 'has none'}`);
      }
      return { images: images!, imageOffset: n * C * H * W, masks, maskOffset: n * H * W };
    };
    // Image-list batches: every sample its own arrays; channels and mask presence still agree.
    const claimOwn = (cur: Sample, C: number, H: number, W: number) => {
      if (!shape || !first) {
        shape = [C, 0, 0];
        first = cur;
      } else if (shape[0] !== C) {
        throw new SampleError(index, cur.ref, `has ${C} channels after transforms but ${describe(first.ref, indices[0]!)} in the same batch has ${shape[0]}`);
      }
      if (list.length > 0 && !!cur.mask !== !!list[0]!.mask) {
        throw new SampleError(index, cur.ref, `${cur.mask ? 'has' : 'has no'} mask but ${describe(first.ref, indices[0]!)} in the same batch ${cur.mask ? 'has none' : 'has one'}`);
      }
      const item: BatchImage = { image: new Float32Array(C * H * W), shape: [C, H, W] };
      if (cur.mask) item.mask = new Int32Array(H * W);
      list.push(item);
      return { images: item.image, imageOffset: 0, masks: item.mask, maskOffset: 0 };
    };
    let s: Sample;
    try {
      s = compose.applyInto(loaded.sample, Rng.derive(seed, epoch, index), claim);
    } catch (e) {
      if (e instanceof SampleError) throw e;
      throw new SampleError(index, loaded.sample.ref, `transform failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (s.instances) hasInstances = true;
    instances.push(s.instances ?? []);
    refs.push(s.ref);
    n++;
  }
  if (n === 0 || !shape) throw new Error(`DataLoader: every sample of the batch [${indices.join(', ')}] was skipped as a bad file`);
  if (imageList) return imageListBatch(list, refs, hasInstances ? instances : undefined, skipped);
  const [C, H, W] = shape;
  if (n < N) {
    images = images!.subarray(0, n * C * H * W);
    masks = masks?.subarray(0, n * H * W);
  }
  const batch: Batch = { images: images!, shape: [n, C, H, W], refs };
  // Plain buffers are moved to the receiving thread; shared ones (batch slots) stay put.
  const transfer: ArrayBuffer[] = [];
  if (images!.buffer instanceof ArrayBuffer) transfer.push(images!.buffer);
  if (masks) {
    batch.masks = masks;
    if (masks.buffer instanceof ArrayBuffer) transfer.push(masks.buffer);
  }
  if (hasInstances) {
    // Own every instance mask's buffer so it can be transferred (not a view into a shared one).
    for (const list of instances) {
      for (const inst of list) {
        if (inst.mask && (inst.mask.byteOffset !== 0 || inst.mask.byteLength !== inst.mask.buffer.byteLength)) inst.mask = inst.mask.slice();
        if (inst.mask && !transfer.includes(inst.mask.buffer as ArrayBuffer)) transfer.push(inst.mask.buffer as ArrayBuffer);
      }
    }
    batch.instances = instances;
  }
  return { batch, skipped, transfer };
}

/** The batch of an image-list loader; every array's buffer is its own, so all are transferred. */
function imageListBatch(list: BatchImage[], refs: SampleRef[], instances: Instance[][] | undefined, skipped: SkippedSample[]): AssembledBatch {
  const batch: Batch = { images: new Float32Array(0), shape: [list.length, list[0]!.shape[0], 0, 0], refs, list };
  const transfer: ArrayBuffer[] = [];
  for (const item of list) {
    transfer.push(item.image.buffer as ArrayBuffer);
    if (item.mask) transfer.push(item.mask.buffer as ArrayBuffer);
  }
  if (instances) {
    for (const inst of instances.flat()) {
      if (inst.mask && (inst.mask.byteOffset !== 0 || inst.mask.byteLength !== inst.mask.buffer.byteLength)) inst.mask = inst.mask.slice();
      if (inst.mask && !transfer.includes(inst.mask.buffer as ArrayBuffer)) transfer.push(inst.mask.buffer as ArrayBuffer);
    }
    batch.instances = instances;
  }
  return { batch, skipped, transfer };
}

// ---- worker plumbing -------------------------------------------------------------------------

/** What every worker is started with (structured-cloned). */
export interface WorkerInit {
  spec: { refs: SampleRef[] };
  transform: unknown;
  ignoreIndex: number;
  seed: number;
  sampleModule: string;
  imageList: boolean;
}

/**
 * Jobs name dataset indices. With `slot` (recycle mode) the worker writes the batch into that
 * slot's SharedArrayBuffers, which both sides keep: the reply then carries only the sizes (and
 * the buffers once, when the worker had to (re)allocate them).
 */
export type ToWorker = { type: 'job'; id: number; epoch: number; indices: number[]; slot?: number } | { type: 'cancel' };
export interface SlotReply {
  id: number;
  imagesLength: number;
  masksLength?: number;
  buffers?: BatchBuffers;
}
export type FromWorker =
  | { type: 'batch'; id: number; batch: Batch; skipped: SkippedSample[]; slot?: SlotReply }
  | { type: 'error'; id: number; message: string; stack?: string };

/** Reusable batch buffers (recycle mode), owned by one worker or by the calling thread. */
interface BatchSlot {
  id: number;
  owner: WorkerHandle | null;
  buffers: BatchBuffers;
}

interface Result {
  batch: Batch;
  skipped: SkippedSample[];
  slot?: BatchSlot;
}

interface Job {
  id: number;
  worker: WorkerHandle;
  indices: number[];
  slot?: BatchSlot;
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
}

interface WorkerHandle {
  n: number;
  worker: Worker;
  outstanding: number;
  slots: Map<number, BatchSlot>;
  free: BatchSlot[];
}

const WORKER_URL = new URL('./loader-worker.js', import.meta.url);
const DEFAULT_SAMPLE_MODULE = new URL('./dataset.js', import.meta.url).href;
const SHUFFLE_KEY = 0x73687566; // "shuf": keeps the order's stream apart from the samples'

function positiveInt(name: string, v: number | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`DataLoader: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly ignoreIndex: number;
  readonly recycle: boolean;
  readonly shard: { rank: number; count: number };
  readonly imageList: boolean;
  readonly compose: Compose;
  /** Bad files left out of their batches so far (dataset policy 'skip'). */
  readonly skipped: SkippedSample[] = [];
  private epoch = 0;
  private position = 0;
  private iterating = false;
  private closed = false;
  private workers: WorkerHandle[] | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextJobId = 1;
  private readonly sampleModule: string;
  private nextSlotId = 1;
  private readonly freeSlots: BatchSlot[] = []; // calling-thread slots (numWorkers 0)
  private readonly held: BatchSlot[] = []; // slots of the last batches handed out (recycle)

  constructor(
    readonly dataset: LoaderDataset,
    options: DataLoaderOptions = {},
  ) {
    this.batchSize = positiveInt('batchSize', options.batchSize, 1, 1);
    this.numWorkers = positiveInt('numWorkers', options.numWorkers, 0, 0);
    this.prefetch = positiveInt('prefetch', options.prefetch, 2, 1);
    this.ignoreIndex = positiveInt('ignoreIndex', options.ignoreIndex, dataset.labelMap?.ignoreIndex ?? 255, 0);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.recycle = options.recycle ?? false;
    this.seed = options.seed ?? 0;
    this.shard = options.shard ?? { rank: 0, count: 1 };
    this.imageList = options.imageList ?? false;
    if (this.imageList && this.recycle) throw new Error('DataLoader: imageList and recycle do not go together (image-list batches have one array per image); drop recycle');
    const { rank, count } = this.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(rank) || rank < 0 || rank >= count) {
      throw new Error(`DataLoader: shard needs integers 0 <= rank < count, got rank ${rank}, count ${count}`);
    }
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) throw new Error(`DataLoader: seed must be a non-negative integer, got ${this.seed}`);
    this.compose = new Compose(options.transform ?? [], { ignoreIndex: this.ignoreIndex });
    this.sampleModule = options.sampleModule === undefined ? DEFAULT_SAMPLE_MODULE : String(options.sampleModule);
    if (this.numWorkers > 0 && typeof dataset.toSpec !== 'function') {
      throw new Error('DataLoader: numWorkers > 0 needs a dataset with toSpec() (workers rebuild samples from its JSON spec); use SegDataset, or numWorkers: 0');
    }
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    if (this.shard.count > 1) return Math.floor(n / (this.batchSize * this.shard.count));
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Worker threads currently running (0 before the first loop and after close()). */
  get workerCount(): number {
    return this.workers?.length ?? 0;
  }

  /** Where the next iteration starts: save it with a checkpoint. */
  state(): LoaderState {
    return {
      epoch: this.epoch,
      position: this.position,
      seed: this.seed,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      samples: this.dataset.length,
      ...(this.shard.count > 1 ? { shards: this.shard.count } : {}),
    };
  }

  /** Resume from a saved state; the settings that decide the batches must be the same. */
  loadState(state: LoaderState): void {
    if (this.iterating) throw new Error('DataLoader.loadState: cannot change the position while an iteration is running');
    const mine = this.state();
    if ((state.shards ?? 1) !== (mine.shards ?? 1)) {
      throw new Error(`DataLoader.loadState: the saved state was sharded over ${state.shards ?? 1} data-parallel process(es) but this loader over ${mine.shards ?? 1}; resuming would give different batches. Resume with the saved train.processes.`);
    }
    for (const key of ['seed', 'batchSize', 'shuffle', 'dropLast', 'samples'] as const) {
      if (state[key] !== undefined && state[key] !== mine[key]) {
        throw new Error(`DataLoader.loadState: the saved state has ${key} ${state[key]} but this loader has ${mine[key]}; resuming would give different batches. Build the loader with the saved settings.`);
      }
    }
    if (!Number.isInteger(state.epoch) || state.epoch < 0) throw new Error(`DataLoader.loadState: epoch must be an integer >= 0, got ${state.epoch}`);
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > this.length) {
      throw new Error(`DataLoader.loadState: position must be an integer in 0..${this.length}, got ${state.position}`);
    }
    this.epoch = state.epoch;
    this.position = state.position;
  }

  /** Dataset indices of epoch `epoch`, in order. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return Rng.derive(SHUFFLE_KEY, this.seed, epoch).permutation(n);
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /**
   * One epoch from the current position. Stopping early (break) keeps the position after the
   * last batch delivered, so the next loop continues from there.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    if (this.closed) throw new Error('DataLoader: iterated after close()');
    if (this.iterating) throw new Error('DataLoader: already being iterated; finish or break the other loop first');
    this.iterating = true;
    const epoch = this.epoch;
    const order = this.order(epoch);
    const nb = this.length;
    const ahead = this.numWorkers > 0 ? this.numWorkers * this.prefetch : this.prefetch;
    const pending = new Map<number, Promise<Result>>();
    let next = this.position;
    try {
      for (let b = this.position; b < nb; b++) {
        // The consumer asks for batch b: the batch before the previous one may be reused.
        while (this.held.length > 1) this.release(this.held.shift()!);
        while (next < nb && next < b + ahead) {
          const indices = this.batchIndices(order, next);
          const p = this.numWorkers > 0 ? this.runOnWorker(epoch, indices) : this.runHere(epoch, indices);
          p.catch(() => {}); // rejections surface when the batch's turn comes
          pending.set(next, p);
          next++;
        }
        const r = await pending.get(b)!;
        pending.delete(b);
        this.skipped.push(...r.skipped);
        this.position = b + 1;
        if (r.slot) this.held.push(r.slot);
        yield r.batch;
      }
      this.epoch = epoch + 1;
      this.position = 0;
    } finally {
      this.iterating = false;
      if (pending.size > 0) this.cancelJobs();
    }
  }

  /** Dataset indices of batch `b` of an epoch with order `order` (this rank's part when sharded). */
  private batchIndices(order: Int32Array, b: number): number[] {
    const start = (b * this.shard.count + this.shard.rank) * this.batchSize;
    return Array.from(order.subarray(start, Math.min(start + this.batchSize, order.length)));
  }

  private async runHere(epoch: number, indices: number[]): Promise<Result> {
    const ds = this.dataset;
    const load = ds.tryGet ? (i: number) => ds.tryGet!(i) : (i: number) => ds.get(i);
    const refs = new Map<number, SampleRef>();
    const loads = startLoads(indices, async (i) => {
      const s = await load(i);
      if (s) refs.set(i, s.ref);
      return s;
    });
    const slot = this.recycle ? (this.freeSlots.pop() ?? { id: this.nextSlotId++, owner: null, buffers: {} }) : undefined;
    try {
      const { batch, skipped } = await assembleBatch(indices, loads, this.compose, this.seed, epoch, (i) => refs.get(i) ?? this.refOf(i), slot?.buffers, false, this.imageList);
      if (slot) slot.buffers = { images: batch.images.buffer, masks: batch.masks?.buffer };
      return { batch, skipped, slot };
    } catch (e) {
      if (slot) this.release(slot);
      throw e;
    }
  }

  /** A recycled batch's buffers become available for a later batch. */
  private release(slot: BatchSlot): void {
    if (slot.owner === null) this.freeSlots.push(slot);
    else if (slot.owner.slots.get(slot.id) === slot) slot.owner.free.push(slot);
  }

  private refCache: SampleRef[] | undefined;
  private refOf(i: number): SampleRef | undefined {
    const ds = this.dataset as LoaderDataset & { ref?: (i: number) => SampleRef };
    if (typeof ds.ref === 'function') {
      try {
        return ds.ref(i);
      } catch {
        return undefined;
      }
    }
    this.refCache ??= ds.toSpec?.().refs;
    return this.refCache?.[i];
  }

  private startWorkers(): WorkerHandle[] {
    const spec = this.dataset.toSpec!();
    if (!Array.isArray(spec.refs) || spec.refs.length !== this.dataset.length) {
      throw new Error(`DataLoader: dataset.toSpec() gives ${spec.refs?.length} refs but the dataset has ${this.dataset.length} samples`);
    }
    const init: WorkerInit = { spec, transform: this.compose.toJSON(), ignoreIndex: this.ignoreIndex, seed: this.seed, sampleModule: this.sampleModule, imageList: this.imageList };
    const slots: WorkerHandle[] = [];
    for (let n = 0; n < this.numWorkers; n++) {
      const worker = new Worker(WORKER_URL, { workerData: init });
      const slot: WorkerHandle = { n, worker, outstanding: 0, slots: new Map(), free: [] };
      worker.unref();
      worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
      worker.on('error', (e: Error) => this.onWorkerFailure(slot, `crashed: ${e.message}`, e));
      worker.on('exit', (code) => {
        if (!this.closed) this.onWorkerFailure(slot, `exited with code ${code}`);
      });
      slots.push(slot);
    }
    return slots;
  }

  private runOnWorker(epoch: number, indices: number[]): Promise<Result> {
    this.workers ??= this.startWorkers();
    let w = this.workers[0]!;
    for (const other of this.workers) if (other.outstanding < w.outstanding) w = other;
    if (this.recycle && w.free.length === 0) {
      // a slot free at another worker serves rather than a new one, so the buffers stay at
      // (batches in flight) + (2 held by the consumer) whatever the timing of the releases
      const withFree = this.workers.find((o) => o.free.length > 0);
      if (withFree) w = withFree;
    }
    let slot: BatchSlot | undefined;
    if (this.recycle) {
      slot = w.free.pop();
      if (!slot) {
        slot = { id: this.nextSlotId++, owner: w, buffers: {} };
        w.slots.set(slot.id, slot);
      }
    }
    const id = this.nextJobId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { id, worker: w, indices, slot, resolve, reject });
      if (w.outstanding++ === 0) w.worker.ref();
      w.worker.postMessage({ type: 'job', id, epoch, indices, slot: slot?.id } satisfies ToWorker);
    });
  }

  /** Forget a job (done, failed or cancelled); a cancelled job's slot goes back to its worker. */
  private settle(id: number, cancelled = false): Job | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined; // cancelled earlier
    this.jobs.delete(id);
    if (--job.worker.outstanding === 0) job.worker.worker.unref();
    // The worker finishes a job before starting the next, so a slot freed now is only written
    // by a later job.
    if (cancelled && job.slot) this.release(job.slot);
    return job;
  }

  private onMessage(w: WorkerHandle, msg: FromWorker): void {
    if (msg.type === 'batch' && msg.slot?.buffers) {
      // New or grown buffers for a slot: keep them even if the job was cancelled meanwhile.
      const slot = w.slots.get(msg.slot.id);
      if (slot) slot.buffers = msg.slot.buffers;
    }
    const job = this.settle(msg.id);
    if (!job) return;
    if (msg.type === 'error') {
      if (job.slot) this.release(job.slot);
      const e = new Error(`${msg.message} [worker ${w.n}]`);
      if (msg.stack) e.stack = `${e.message}\n${msg.stack.split('\n').slice(1).join('\n')}`;
      job.reject(e);
      return;
    }
    const batch = msg.batch;
    if (msg.slot && job.slot) {
      const { images, masks } = job.slot.buffers;
      batch.images = new Float32Array(images!, 0, msg.slot.imagesLength);
      if (msg.slot.masksLength !== undefined) batch.masks = new Int32Array(masks!, 0, msg.slot.masksLength);
    }
    job.resolve({ batch, skipped: msg.skipped, slot: job.slot });
  }

  private onWorkerFailure(slot: WorkerHandle, what: string, cause?: Error): void {
    if (!this.workers?.includes(slot)) return;
    // A dead worker fails every job in flight; a fresh set of workers starts on the next loop.
    const workers = this.workers;
    this.workers = undefined;
    for (const job of [...this.jobs.values()]) {
      this.settle(job.id);
      const which = job.worker === slot ? `while loading samples [${job.indices.join(', ')}]` : `(samples [${job.indices.join(', ')}] on worker ${job.worker.n} were stopped with it)`;
      job.reject(new Error(`DataLoader: worker ${slot.n} ${what} ${which}; sample module ${this.sampleModule}`, { cause }));
    }
    for (const w of workers) void w.worker.terminate();
  }

  private cancelJobs(): void {
    for (const id of [...this.jobs.keys()]) this.settle(id, true);
    for (const w of this.workers ?? []) w.worker.postMessage({ type: 'cancel' } satisfies ToWorker);
  }

  /** Stop the workers. The loader cannot be iterated afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers ?? [];
    this.workers = undefined;
    for (const id of [...this.jobs.keys()]) this.settle(id)?.reject(new Error('DataLoader closed'));
    this.held.length = 0;
    this.freeSlots.length = 0;
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
