// Resumable checkpoints of a run, under runs/<name>/checkpoints/:
//
//   step-00000120/          one complete checkpoint, made in step-00000120.tmp-<pid>/ and then
//     model.safetensors     renamed into place, so a folder with this name is always complete
//     optimizer.safetensors (a kill during the write leaves only a .tmp folder, removed on resume)
//     ema.safetensors       (when EMA is on)
//     state.json            step, epoch, loader position, optimizer/scheduler state, RNG, best
//   best.safetensors        weights with the best validation metric (metadata says which, when)
//   last.safetensors        weights at the end of training
//
// The weights files are plain safetensors state dicts, loadable by PyTorch's safetensors.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/index.js';
import { fromRaw, toRaw, type Tensor } from '../torch/index.js';
import { disposeStateDict, joinStateDict, splitStateDict, type GradScalerState, type Optimizer, type OptimizerStateJson, type SchedulerState, type Scheduler } from '../optim/index.js';
import { readSafetensors, serializeSafetensors, writeSafetensors } from '../io/safetensors.js';
import { stateDictToRaw } from '../io/weights.js';
import type { RawTensor } from '../io/raw.js';
import type { LoaderState } from '../data/loader.js';
import type { RngState } from './rng.js';

export const STATE_VERSION = 1;

/** The JSON half of a checkpoint: everything but the tensors. */
export interface TrainState {
  version: number;
  /** Optimizer steps taken (a skipped non-finite step counts). */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /** Where the training loader continues (epoch, batches delivered, its seed and settings). */
  loader: LoaderState;
  optimizer: OptimizerStateJson;
  scheduler: SchedulerState | null;
  rng: RngState;
  best: { metric: string; value: number; step: number; epoch: number } | null;
  /** Validations since the best one (early stopping). */
  sinceBest: number;
  /** Steps skipped for a non-finite loss or gradient. */
  skipped: number;
  /** The last validation's metrics. */
  lastMetrics: Record<string, number> | null;
  /** The run ended here (all steps done, or early stopping): resuming it trains no further. */
  finished: boolean;
  /** Whether the steps run under bfloat16 autocast, as train.amp 'auto' chose it (absent: the config's train.amp). */
  amp?: boolean;
  /** The GradScaler's state (PyTorch's layout), when loss scaling is on. */
  gradScaler?: GradScalerState;
  savedAt: string;
}

export interface CheckpointParts {
  model: Module;
  optimizer: Optimizer;
  scheduler: Scheduler | null;
  ema?: Module | null;
}

const STEP_DIR = /^step-(\d{8,})$/;
const stepDir = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/**
 * Test hook: with SEGKIT_TEST_PAUSE=<where> (e.g. `checkpoint:6`, `step:5`) the process prints
 * `SEGKIT_PAUSED <where>` on stderr when it reaches that point and blocks, so a test can SIGKILL
 * it exactly there. Does nothing otherwise.
 */
export function testPause(where: string): void {
  if (process.env.SEGKIT_TEST_PAUSE !== where) return;
  writeSync(2, `SEGKIT_PAUSED ${where}\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0, 60_000);
}

/** Writes a file and flushes it to disk, so a rename that publishes it never points at lost data. */
function writeDurable(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function optimizerTensors(optimizer: Optimizer): { json: OptimizerStateJson; raw: Map<string, RawTensor> } {
  const sd = optimizer.stateDict();
  try {
    const { json, tensors } = splitStateDict(sd);
    const raw = new Map(Object.entries(tensors).map(([k, t]) => [k, toRaw(t)] as const));
    return { json, raw };
  } finally {
    disposeStateDict(sd);
  }
}

/**
 * Writes checkpoint `state.step` into `dir` atomically (temp folder, then rename) and keeps the
 * newest `keep` ones (0: all). Returns its folder.
 */
export function writeCheckpoint(dir: string, parts: CheckpointParts, state: Omit<TrainState, 'optimizer' | 'scheduler' | 'version' | 'savedAt'>, keep = 0): string {
  mkdirSync(dir, { recursive: true });
  const final = join(dir, stepDir(state.step));
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const opt = optimizerTensors(parts.optimizer);
  writeDurable(join(tmp, 'model.safetensors'), serializeSafetensors(stateDictToRaw(parts.model), { format: 'pt' }));
  writeDurable(join(tmp, 'optimizer.safetensors'), serializeSafetensors(opt.raw));
  if (parts.ema) writeDurable(join(tmp, 'ema.safetensors'), serializeSafetensors(stateDictToRaw(parts.ema), { format: 'pt' }));
  const full: TrainState = {
    version: STATE_VERSION,
    ...state,
    optimizer: opt.json,
    scheduler: parts.scheduler?.stateDict() ?? null,
    savedAt: new Date().toISOString(),
  };
  writeDurable(join(tmp, 'state.json'), JSON.stringify(full, null, 1) + '\n');
  syncDir(tmp);
  testPause(`checkpoint:${state.step}`);
  if (existsSync(final)) {
    // the same step saved again (an interrupted run's last step, now finished): swap it; a kill
    // in between leaves only older complete checkpoints and temp folders that resume removes
    const old = `${final}.tmp-old-${process.pid}`;
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, final);
  syncDir(dir);
  if (keep > 0) for (const old of listCheckpoints(dir).slice(keep)) rmSync(join(dir, stepDir(old)), { recursive: true, force: true });
  return final;
}

/** Steps of the complete checkpoints in `dir`, newest first. */
export function listCheckpoints(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => STEP_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], 'state.json')))
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
}

/** Removes what an interrupted write left behind (temp folders and files). */
export function removeLeftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const gone = readdirSync(dir).filter((n) => n.includes('.tmp-'));
  for (const n of gone) rmSync(join(dir, n), { recursive: true, force: true });
  return gone;
}

/** The newest complete checkpoint's folder, or undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  const [step] = listCheckpoints(dir);
  return step === undefined ? undefined : join(dir, stepDir(step));
}

function readTensors(file: string): Map<string, Tensor> {
  const st = readSafetensors(file);
  return new Map([...st.tensors].map(([k, raw]) => [k, fromRaw(raw)] as const));
}

/**
 * Loads a checkpoint folder into freshly built parts (same model, optimizer and scheduler
 * settings) and returns its state. Errors name the folder.
 */
export function loadCheckpoint(folder: string, parts: CheckpointParts): TrainState {
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(join(folder, 'state.json'), 'utf8')) as TrainState;
  } catch (e) {
    throw new Error(`${folder}/state.json: cannot read the checkpoint state (${(e as Error).message}); delete this folder to resume from an older checkpoint`);
  }
  if (state.version !== STATE_VERSION) throw new Error(`${folder}: checkpoint state version ${state.version}, this segkit reads ${STATE_VERSION}`);
  try {
    const model = readSafetensors(join(folder, 'model.safetensors'));
    parts.model.loadStateDict(model.tensors);
    if (parts.ema) parts.ema.loadStateDict(readSafetensors(join(folder, 'ema.safetensors')).tensors);
    const tensors = readTensors(join(folder, 'optimizer.safetensors'));
    try {
      parts.optimizer.loadStateDict(joinStateDict(state.optimizer, Object.fromEntries(tensors)));
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    if (parts.scheduler && state.scheduler) parts.scheduler.loadStateDict(state.scheduler);
  } catch (e) {
    throw new Error(`${folder}: cannot resume from this checkpoint: ${(e as Error).message}`, { cause: e });
  }
  return state;
}

/** Writes a module's weights as one safetensors file, atomically, with string metadata. */
export function writeWeights(file: string, model: Module, metadata: Record<string, string>): void {
  writeSafetensors(file, stateDictToRaw(model), { format: 'pt', ...metadata });
}

/**
 * Claims `<runDir>/.lock` for this process so two trainings never write one run folder at once.
 * A lock whose process is gone (killed) is taken over. Returns the release function.
 */
export function lockRun(runDir: string): () => void {
  const file = join(runDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid !== process.pid;
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`${runDir} is in use by another training (process ${pid}, ${file}); wait for it, or give this run another name (--set name=...)`);
      rmSync(file, { force: true }); // left by a killed run
    }
  }
  throw new Error(`${file}: cannot take the run lock`);
}
