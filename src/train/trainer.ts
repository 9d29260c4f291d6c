// The training loop. One optimizer step is three separate phases, so a later data-parallel mode
// (several processes, each with its shard of the batches) plugs in at `reduceGradients`:
//
//   forwardBackward(batch)   per batch of an accumulation group: forward (autocast when amp),
//                            loss, backward of loss / groupSize; returns the loss values
//   reduceGradients(params)  hook: all-reduce the gradients (sum, divide by world size)
//   applyStep()              clip, non-finite check, optimizer step or skip, EMA, zero grads
//
// then the scheduler steps, records are logged, and validation / checkpoints run when due.
// Resume is exact: a checkpoint is taken only between optimizer steps, and holds everything that
// decides the rest of the run (weights, optimizer and scheduler state, the loader's position,
// best-so-far); libtorch's RNG is reseeded from (seed, step) before each step (rng.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceOf, type Module } from '../nn/index.js';
import { keep, noGrad, runAsync, type Tensor } from '../torch/index.js';
import { clipGradNorm_, GradScaler, ReduceLROnPlateau, type GradScalerState, type Optimizer } from '../optim/index.js';
import type { DataLoader } from '../data/loader.js';
import { SegDataset } from '../data/dataset.js';
import type { StepConfig } from '../data/transforms/index.js';
import type { Batch } from '../data/types.js';
import { writeFileAtomic } from '../data/splits.js';
import { configDiff, type TrainConfig } from './config.js';
import type { Evaluator, LossFn } from './defaults.js';
import { describeNames, evaluatePass, formatSummary, improves } from './validation.js';
import { writeSamples } from './samples.js';
import { writeInstanceSamples } from './instance-samples.js';
import { runReportData } from './report.js';
import { writeRunReport } from '../report/index.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, lockRun, removeLeftovers, testPause, writeCheckpoint, writeWeights, type TrainState } from './checkpoint.js';
import { JsonlLog, trainProgress, type TrainProgress } from './logging.js';
import { ModelEma } from './ema.js';
import { EventWriter } from '../io/tensorboard.js';
import { rngState, seedStep } from './rng.js';
import { totalSteps, type RunScheduler } from './setup.js';
import { forwardBackward } from './step.js';
import { semanticTask, type TrainTask } from './task.js';

/** Where a step starts: `position` is the index of its first batch in epoch `epoch` (0-based). */
export interface StepInfo {
  step: number;
  epoch: number;
  position: number;
  /** Batches the step adds up (train.gradAccum). */
  batches: number;
  /** Under bfloat16 autocast. */
  amp: boolean;
}

export interface TrainerHooks {
  /** Called before the first forward of each step: where a data-parallel mode hands the weights and the step to the others. */
  startStep?(info: StepInfo): void | Promise<void>;
  /**
   * Called after the last backward of each step, before clipping and the optimizer step, with
   * the parameters being optimized and the step's loss values: where a data-parallel mode
   * all-reduces the gradients. May return the loss values averaged over all processes.
   */
  reduceGradients?(params: Tensor[], losses: Record<string, number>): void | Record<string, number> | Promise<void | Record<string, number>>;
  /** Every record written to train.jsonl. */
  onRecord?(record: Record<string, unknown>): void;
}

export interface TrainerParts {
  config: TrainConfig;
  model: Module;
  optimizer: Optimizer;
  /** Stepped once per optimizer step; ReduceLROnPlateau after each validation, with val.metric. */
  scheduler: RunScheduler | null;
  trainLoader: DataLoader;
  valLoader: DataLoader;
  /** The loss of semantic training (the task's, when `task` is given). */
  loss?: LossFn;
  /** What a batch is trained and validated with; default semanticTask(loss). */
  task?: TrainTask;
  /** A fresh evaluator per validation pass (its update takes what the task's evaluate gives it). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  makeEvaluator: () => Evaluator<any, any>;
  /** Class names by train id (for the report's per-class table). */
  classNames?: string[];
  /** Builds another model of the same architecture (for the EMA copy). */
  buildModel?: () => Module;
  hooks?: TrainerHooks;
  /** Files written into the run folder when a run starts (name -> text): the split it trains on, its label map. */
  runFiles?: Record<string, string>;
  /** Where lines for people go (default console.log). */
  print?: (line: string) => void;
}

export interface FitResult {
  step: number;
  epoch: number;
  best: TrainState['best'];
  lastMetrics: Record<string, number> | null;
  skipped: number;
  stoppedEarly: boolean;
  /** Stopped by interrupt() with a checkpoint; `--resume` continues. */
  interrupted: boolean;
  runDir: string;
}

/** A non-finite loss or gradient under nonFinite 'stop' (or past maxSkipped). */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly terms: Record<string, number>,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

const fmt = (terms: Record<string, number>): string => Object.entries(terms).map(([k, v]) => `${k}=${v}`).join(', ');

export class Trainer {
  readonly cfg: TrainConfig;
  readonly runDir: string;
  readonly checkpointDir: string;
  readonly log: JsonlLog;
  readonly ema: ModelEma | null;
  readonly total: number;
  private readonly params: Tensor[];
  private readonly print: (line: string) => void;
  // run state (what a checkpoint saves besides tensors)
  step = 0;
  best: TrainState['best'] = null;
  sinceBest = 0;
  skipped = 0;
  lastMetrics: Record<string, number> | null = null;
  private stopRequested = false;
  private interruptRequested = false;
  private lastConfusion: number[][] | undefined;
  private unlock: (() => void) | undefined;
  /** Step of the latest validation (-1: none in this process). */
  private validatedAt = -1;
  private finished = false;
  private progress: TrainProgress | undefined;
  private events: EventWriter | undefined;
  /** Autocast for the steps: the config's, or what train.amp 'auto' measured (undefined until then). */
  private amp: boolean | undefined;
  /** Where the model trains ('cpu', 'cuda:0'). */
  readonly device: string;
  /** Dynamic loss scaling (train.gradScaler); disabled, it passes everything through. */
  readonly scaler: GradScaler;
  readonly task: TrainTask;

  constructor(readonly parts: TrainerParts) {
    this.cfg = parts.config;
    this.runDir = join(this.cfg.outDir, this.cfg.name);
    this.checkpointDir = join(this.runDir, 'checkpoints');
    this.log = new JsonlLog(join(this.runDir, 'train.jsonl'));
    this.total = totalSteps(this.cfg, parts.trainLoader);
    this.params = parts.optimizer.paramGroups.flatMap((g) => g.params);
    this.print = parts.print ?? ((line) => console.log(line));
    if (!parts.task && !parts.loss) throw new Error('Trainer: give a loss (semantic training) or a task');
    this.task = parts.task ?? semanticTask(parts.loss!);
    this.device = deviceOf(parts.model); // where buildModel put it (the config's `device`)
    const onCuda = this.device.startsWith('cuda');
    if (onCuda && this.cfg.train.processes > 1) throw new Error(`train.processes: data-parallel training runs on CPU only so far; with device ${this.device} set train.processes: 1`);
    // on CUDA 'auto' is float16 without measuring: GPUs with tensor cores run it faster
    this.amp = this.cfg.train.amp === 'auto' ? (onCuda ? true : undefined) : this.cfg.train.amp;
    const gs = this.cfg.train.gradScaler;
    this.scaler = new GradScaler({ enabled: gs === 'auto' ? onCuda && this.amp === true : gs });
    if (this.cfg.ema.enabled) {
      if (!parts.buildModel) throw new Error('Trainer: ema.enabled needs buildModel (to make the averaged copy)');
      this.ema = new ModelEma(parts.buildModel(), parts.model, this.cfg.ema.decay);
    } else this.ema = null;
    this.checkMetricName();
  }

  /** Fails before training when val.metric is not a name the evaluator reports (read from an empty pass). */
  private checkMetricName(): void {
    let names: string[];
    const evaluator = this.parts.makeEvaluator();
    try {
      names = Object.keys(evaluator.compute());
    } catch {
      return; // an evaluator that cannot compute before seeing data is checked at the first validation
    } finally {
      evaluator.dispose?.();
    }
    const key = this.cfg.val.metric;
    if (names.length > 0 && !names.includes(key)) throw new Error(`val.metric: '${key}' is not among the metrics the evaluator reports: ${describeNames(names)}`);
  }

  /** The model validated and saved as best: the EMA copy when EMA is on. */
  get evalModel(): Module {
    return this.ema?.shadow ?? this.parts.model;
  }

  private record(r: Record<string, unknown> & { type: string }): void {
    this.log.write(r);
    if (this.events && r.step !== undefined) {
      const step = r.step as number;
      const finite = (o: unknown, prefix: string) => Object.fromEntries(Object.entries(o as Record<string, number>).filter(([, v]) => Number.isFinite(v)).map(([k, v]) => [prefix + k, v]));
      if (r.type === 'train') this.events.scalars({ ...finite(r.terms, 'train/'), 'train/lr': r.lr as number }, step);
      else if (r.type === 'val') this.events.scalars(finite(r.metrics, 'val/'), step);
    }
    this.parts.hooks?.onRecord?.(r);
  }

  private say(line: string): void {
    if (this.progress) this.progress.log(line);
    else this.print(line);
  }

  /**
   * Prepares runs/<name>/: with `resume`, loads the newest complete checkpoint (removing what an
   * interrupted write left); without, refuses a run folder that already has checkpoints.
   * Returns the step resumed from (0 for a fresh run).
   */
  start(resume: boolean): number {
    const latest = latestCheckpoint(this.checkpointDir);
    if (!resume && latest) {
      throw new Error(`${this.runDir} already has checkpoints (newest ${latest}); pass --resume to continue it, or give another run name (--set name=...)`);
    }
    mkdirSync(this.runDir, { recursive: true });
    this.unlock = lockRun(this.runDir);
    if (this.cfg.train.tensorboard) this.events = new EventWriter(this.runDir);
    const leftovers = [...removeLeftovers(this.checkpointDir), ...removeLeftovers(this.runDir)]; // temp files of killed writes
    if (!resume || !latest) {
      if (resume) {
        if (!existsSync(join(this.runDir, 'config.json'))) throw new Error(`--resume: ${this.runDir} has no run to resume (no config.json); start it without --resume`);
        this.print(`${this.runDir}: no complete checkpoint yet, starting from the beginning`);
      }
      writeFileAtomic(join(this.runDir, 'config.json'), JSON.stringify(this.cfg, null, 2) + '\n');
      for (const [name, text] of Object.entries(this.parts.runFiles ?? {})) writeFileAtomic(join(this.runDir, name), text);
      writeFileAtomic(this.log.file, '');
      return 0;
    }
    this.warnConfigChanges();
    const state = loadCheckpoint(latest, { model: this.parts.model, optimizer: this.parts.optimizer, scheduler: this.parts.scheduler, ema: this.ema?.shadow ?? null });
    this.parts.trainLoader.loadState(state.loader);
    this.step = state.step;
    this.best = state.best;
    this.sinceBest = state.sinceBest;
    this.skipped = state.skipped;
    this.lastMetrics = state.lastMetrics;
    this.finished = state.finished;
    if (this.cfg.train.amp === 'auto' && state.amp !== undefined) this.amp = state.amp;
    if (state.gradScaler && this.scaler.isEnabled()) this.scaler.loadStateDict(state.gradScaler);
    this.log.truncateAfter(state.step);
    this.events?.restartAt(state.step);
    this.record({ type: 'resume', step: state.step, epoch: state.epoch, from: latest, removed: leftovers });
    this.print(`resumed ${this.runDir} from ${latest} (step ${state.step}, epoch ${state.epoch}, batch ${state.loader.position})${leftovers.length ? `; removed an interrupted write: ${leftovers.join(', ')}` : ''}`);
    return state.step;
  }

  /** On resume: names the keys that differ from the run's config.json (exactness needs none). */
  private warnConfigChanges(): void {
    const file = join(this.runDir, 'config.json');
    if (!existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const changes = configDiff(saved, JSON.parse(JSON.stringify(this.cfg)) as unknown);
    if (changes.length) this.print(`warning: resuming with a config that differs from ${file}: ${changes.join('; ')} (the new values apply; an exact continuation needs the same config)`);
  }

  // ---- one step, in phases ----

  /** Forward, loss and backward of one batch, its gradient scaled by `scale`. Returns the loss values. */
  forwardBackward(batch: Batch, scale: number, amp = this.amp ?? false): Promise<Record<string, number>> {
    return forwardBackward(this.parts.model, this.task, batch, scale * this.scaler.getScale(), { amp, channelsLast: this.cfg.model.channelsLast, device: this.device });
  }

  /**
   * train.amp 'auto': times forward + backward of `batch` in float32 and under bfloat16 autocast
   * (alternating, after a warm-up of each) and picks bfloat16 when it is at least 10% faster.
   * Whether it is depends on the CPU (bfloat16 instructions, the oneDNN kernels it gets), so it is
   * measured rather than assumed. The measure is this process's CPU time, the least of three
   * tries: wall time swings with whatever else the machine runs, which decided nothing on a busy
   * machine here (90 vs 87 ms wall where the CPU time said 34 vs 24 ms). Weights, gradients,
   * BatchNorm statistics and the RNG are as they were afterwards.
   */
  private async chooseAmp(batch: Batch): Promise<boolean> {
    const { optimizer } = this.parts;
    this.snapshotBuffers(); // the BatchNorm statistics the timed passes move
    const times: Record<'float32' | 'bfloat16', number[]> = { float32: [], bfloat16: [] };
    try {
      for (let round = 0; round < 4; round++) {
        for (const amp of [false, true]) {
          const before = process.cpuUsage();
          await this.forwardBackward(batch, 1, amp);
          const used = process.cpuUsage(before);
          if (round > 0) times[amp ? 'bfloat16' : 'float32'].push((used.user + used.system) / 1000); // round 0 warms up
          optimizer.zeroGrad();
        }
      }
    } finally {
      this.restoreBuffers();
    }
    const f32 = Math.min(...times.float32);
    const bf16 = Math.min(...times.bfloat16);
    const use = bf16 < 0.9 * f32;
    this.record({ type: 'amp', step: this.step, choice: use ? 'bfloat16' : 'float32', cpuMsFloat32: f32, cpuMsBfloat16: bf16 });
    this.say(`train.amp auto: forward + backward took ${f32.toFixed(1)} ms of CPU in float32, ${bf16.toFixed(1)} ms under bfloat16 autocast: ${use ? 'using bfloat16' : 'staying in float32'}`);
    return use;
  }

  /**
   * Unscaling (with a GradScaler), clipping, the non-finite check, then the optimizer step (or a
   * skip), EMA and zeroing the grads.
   */
  async applyStep(losses: Record<string, number>, epoch: number): Promise<'stepped' | 'skipped'> {
    const { optimizer, model } = this.parts;
    const t = this.cfg.train;
    const scaling = this.scaler.isEnabled();
    if (scaling) this.scaler.unscale_(optimizer); // before clipping, so the norm is the true one
    let gradNorm: number | undefined;
    if (t.gradClip !== undefined) {
      const norm = await runAsync(() => clipGradNorm_(this.params, t.gradClip!));
      gradNorm = norm.item();
      norm.dispose();
    }
    // with loss scaling, overflowing gradients are the scaler's to skip (below), not bad batches
    const finite = Object.values(losses).every(Number.isFinite) && (scaling || gradNorm === undefined || Number.isFinite(gradNorm));
    if (!finite) {
      if (scaling) this.scaler.update(); // a NaN loss has NaN gradients too: the scale backs off
      const terms = gradNorm === undefined ? losses : { ...losses, gradNorm };
      const where = `step ${this.step + 1} of ${this.total} (epoch ${epoch})`;
      if (t.nonFinite === 'stop') {
        optimizer.zeroGrad();
        this.record({ type: 'nonfinite', step: this.step + 1, epoch, terms });
        throw new NonFiniteError(`non-finite loss at ${where}: ${fmt(terms)}. The weights are those of the last finite step; lower optimizer.lr, set train.gradClip, or set train.nonFinite: skip`, this.step + 1, terms);
      }
      this.skipped++;
      optimizer.zeroGrad();
      this.restoreBuffers(); // BatchNorm statistics of the bad batches are undone too
      this.record({ type: 'skip', step: this.step + 1, epoch, terms, skipped: this.skipped });
      this.say(`skipped ${where}: non-finite ${fmt(terms)} (${this.skipped} skipped so far, limit ${t.maxSkipped})`);
      if (this.skipped > t.maxSkipped) {
        throw new NonFiniteError(`${this.skipped} steps skipped for non-finite losses, more than train.maxSkipped (${t.maxSkipped}); last at ${where}: ${fmt(terms)}`, this.step + 1, terms);
      }
      return 'skipped';
    }
    this.dropSnapshot();
    if (scaling) {
      const before = this.scaler.getScale();
      const stepped = this.scaler.step(optimizer);
      this.scaler.update();
      if (!stepped) {
        // as PyTorch's GradScaler: the weights stay, the BatchNorm statistics of the batch are kept
        optimizer.zeroGrad();
        this.record({ type: 'scale', step: this.step + 1, epoch, overflow: true, scale: this.scaler.getScale() });
        this.say(`step ${this.step + 1}: scaled gradients overflowed at loss scale ${before}; step skipped, scale now ${this.scaler.getScale()}`);
        return 'skipped';
      }
    } else await runAsync(() => optimizer.step());
    optimizer.zeroGrad();
    if (this.ema) await runAsync(() => this.ema!.update(model));
    return 'stepped';
  }

  /** Copies of the model's buffers (BatchNorm running statistics) from before a step's forwards. */
  private snapshot: Array<[Tensor, Tensor]> | null = null;
  private snapshotBuffers(): void {
    this.dropSnapshot();
    this.snapshot = noGrad(() => this.parts.model.buffers().map((b) => [b, keep(b.clone())] as [Tensor, Tensor]));
  }
  private restoreBuffers(): void {
    if (this.snapshot) noGrad(() => this.snapshot!.forEach(([b, copy]) => b.copy_(copy)));
    this.dropSnapshot();
  }
  private dropSnapshot(): void {
    this.snapshot?.forEach(([, copy]) => copy.dispose());
    this.snapshot = null;
  }

  // ---- validation and checkpoints ----

  async validate(epoch: number): Promise<Record<string, number>> {
    const model = this.evalModel;
    const { metrics, confusion } = await evaluatePass(model, this.parts.valLoader, this.parts.makeEvaluator(), this.task, this.cfg.model.channelsLast);
    this.lastConfusion = confusion;
    const key = this.cfg.val.metric;
    if (!(key in metrics)) throw new Error(`val.metric: '${key}' is not among the metrics the evaluator reports: ${describeNames(Object.keys(metrics))}`);
    this.lastMetrics = metrics;
    this.validatedAt = this.step;
    this.record({ type: 'val', step: this.step, epoch, metrics });
    const value = metrics[key]!;
    const sched = this.parts.scheduler;
    if (sched instanceof ReduceLROnPlateau && Number.isFinite(value)) sched.step(value);
    const improved = improves(value, this.best?.value, this.cfg.val.mode, this.cfg.earlyStopping.minDelta);
    const shown = formatSummary(metrics);
    if (improved) {
      this.best = { metric: key, value, step: this.step, epoch };
      this.sinceBest = 0;
      writeWeights(join(this.runDir, 'best.safetensors'), model, { ...this.weightsMetadata(), step: String(this.step), epoch: String(epoch), metric: key, value: String(value) });
      this.record({ type: 'best', step: this.step, epoch, metric: key, value });
    } else this.sinceBest++;
    this.say(`validation at step ${this.step} (epoch ${epoch}): ${shown}${improved ? ' (best so far)' : ` (best ${this.best?.value.toFixed(4) ?? '-'} at step ${this.best?.step ?? '-'})`}`);
    const patience = this.cfg.earlyStopping.patience;
    if (patience !== undefined && this.sinceBest >= patience) {
      this.stopRequested = true;
      this.record({ type: 'stop', step: this.step, epoch, reason: `no ${key} improvement in ${patience} validations` });
      this.say(`early stopping: no ${key} improvement in ${patience} validations (best ${this.best?.value.toFixed(4)} at step ${this.best?.step})`);
    }
    return metrics;
  }

  /**
   * What best/last.safetensors carry besides the tensors, so the weights rebuild without the run
   * folder: the model's registry name and options, the class names and the input normalisation.
   */
  private weightsMetadata(): Record<string, string> {
    const norm = this.parts.valLoader.compose.normalizeParams;
    return {
      'segkit.model': this.cfg.model.name,
      // the output channels too, so `segkit eval/predict --weights best.safetensors` rebuilds it as it is
      'segkit.options': JSON.stringify({ ...this.cfg.model.options, numClasses: (this.parts.model as { numClasses?: number }).numClasses ?? this.parts.classNames?.length }),
      ...(this.parts.classNames ? { 'segkit.classes': JSON.stringify(this.parts.classNames) } : {}),
      ...(norm ? { 'segkit.normalize': JSON.stringify({ mean: norm.mean, std: norm.std }) } : {}),
      // a replaced head (model.head) and the test-time settings (test.scales/flip) eval and predict rebuild and use
      ...(this.cfg.model.head ? { 'segkit.head': JSON.stringify(this.cfg.model.head) } : {}),
      ...(this.cfg.test.scales || this.cfg.test.flip ? { 'segkit.inference': JSON.stringify({ ...(this.cfg.test.scales ? { scales: this.cfg.test.scales } : {}), flip: this.cfg.test.flip }) } : {}),
    };
  }

  /** Writes a resumable checkpoint of the current step (between optimizer steps only). */
  checkpoint(): string {
    this.events?.flush(); // the logs reach the disk with the checkpoint they belong to
    const loader = this.parts.trainLoader.state();
    const path = writeCheckpoint(
      this.checkpointDir,
      { model: this.parts.model, optimizer: this.parts.optimizer, scheduler: this.parts.scheduler, ema: this.ema?.shadow ?? null },
      {
        step: this.step,
        epoch: loader.position === this.parts.trainLoader.length ? loader.epoch + 1 : loader.epoch,
        loader,
        rng: rngState(this.cfg.seed),
        best: this.best,
        sinceBest: this.sinceBest,
        skipped: this.skipped,
        lastMetrics: this.lastMetrics,
        finished: this.finished,
        ...(this.amp !== undefined ? { amp: this.amp } : {}),
        ...(this.scaler.isEnabled() ? { gradScaler: this.scaler.stateDict() as GradScalerState } : {}),
      },
      this.cfg.checkpoint.keep,
    );
    return path;
  }

  // ---- the loop ----

  /** Trains to the end (or early stop) and writes last.safetensors; `resume` continues a stopped run. */
  async fit(opts: { resume?: boolean } = {}): Promise<FitResult> {
    try {
      return await this.run(opts.resume ?? false);
    } finally {
      this.events?.close();
      this.events = undefined;
      this.unlock?.();
      this.unlock = undefined;
    }
  }

  private async run(resume: boolean): Promise<FitResult> {
    const start = this.start(resume);
    const { trainLoader, scheduler, model } = this.parts;
    const { gradAccum, logEvery } = this.cfg.train;
    const { val, checkpoint } = this.cfg;
    const lr = (): number => this.parts.optimizer.paramGroups[0]!.lr;
    if (this.finished) {
      this.print(`${this.runDir} had finished at step ${this.step}; nothing to resume (start a new run with another name to train more)`);
      return this.result();
    }
    model.train();
    this.progress = trainProgress(this.total, start);
    let recent: number[] = [];
    let epoch = trainLoader.state().epoch;
    try {
      while (this.step < this.total && !this.stopRequested) {
        epoch = trainLoader.state().epoch;
        const nb = trainLoader.length;
        let group: Record<string, number>[] = [];
        let interrupted = false;
        for await (const batch of trainLoader) {
          const b = trainLoader.state().position - 1; // index of this batch in the epoch
          const groupStart = Math.floor(b / gradAccum) * gradAccum;
          const groupSize = Math.min(gradAccum, nb - groupStart);
          if (group.length === 0) {
            if (this.amp === undefined) this.amp = await this.chooseAmp(batch);
            seedStep(this.cfg.seed, this.step);
            if (this.cfg.train.nonFinite === 'skip') this.snapshotBuffers();
            await this.parts.hooks?.startStep?.({ step: this.step, epoch, position: b, batches: groupSize, amp: this.amp });
          }
          group.push(await this.forwardBackward(batch, 1 / groupSize));
          if (group.length < groupSize) continue;

          const losses = (await this.parts.hooks?.reduceGradients?.(this.params, averaged(group))) ?? averaged(group);
          group = [];
          const stepLr = lr(); // the lr this step uses (the scheduler then sets the next one)
          const outcome = await this.applyStep(losses, epoch + 1);
          if (scheduler && !(scheduler instanceof ReduceLROnPlateau)) scheduler.step();
          this.step++;
          if (outcome === 'stepped') recent = [...recent.slice(-19), losses.loss!];
          if (this.step % logEvery === 0 || this.step === this.total) {
            this.record({ type: 'train', step: this.step, epoch: epoch + 1, loss: losses.loss, terms: losses, lr: stepLr, ...(outcome === 'skipped' ? { skipped: true } : {}) });
          }
          this.progress.update(this.step, { loss: mean(recent), lr: stepLr, epoch: epoch + 1 });
          if (val.unit === 'iteration' && this.step % val.every === 0) await this.validate(epoch + 1);
          if (checkpoint.unit === 'iteration' && this.step % checkpoint.every === 0 && this.step < this.total && !this.stopRequested) this.checkpoint();
          testPause(`step:${this.step}`);
          if (this.interruptRequested) break;
          if ((this.step >= this.total || this.stopRequested) && trainLoader.state().position < nb) {
            interrupted = true; // mid-epoch; at the epoch's last batch the loop ends by itself
            break;
          }
        }
        if (interrupted || this.interruptRequested) break;
        // end of an epoch (the loader has moved on to the next one)
        const done = trainLoader.state().epoch;
        if (val.unit === 'epoch' && done % val.every === 0) await this.validate(done);
        if (checkpoint.unit === 'epoch' && done % checkpoint.every === 0 && this.step < this.total && !this.stopRequested) this.checkpoint();
        epoch = done;
      }
    } finally {
      this.progress.stop();
      this.progress = undefined;
    }
    if (this.interruptRequested) {
      const path = this.checkpoint();
      this.record({ type: 'interrupt', step: this.step, checkpoint: path });
      this.print(`interrupted at step ${this.step}; checkpoint ${path}. Continue with: segkit train <config> --resume`);
      return this.result();
    }
    // the end: a validation of the final weights (unless just done), a final checkpoint (marked
    // finished) and the last weights
    const loaderEnd = trainLoader.state();
    const endEpoch = loaderEnd.position > 0 ? loaderEnd.epoch + 1 : loaderEnd.epoch; // 1-based when mid-epoch
    if (this.validatedAt !== this.step) await this.validate(endEpoch);
    this.finished = true;
    this.checkpoint();
    writeWeights(join(this.runDir, 'last.safetensors'), this.evalModel, { ...this.weightsMetadata(), step: String(this.step), epoch: String(endEpoch) });
    const valSet = this.parts.valLoader.dataset;
    if (this.cfg.train.samples > 0 && valSet instanceof SegDataset && this.task.kind === 'instance') {
      const transform = this.parts.valLoader.compose.toJSON() as StepConfig[];
      await writeInstanceSamples(join(this.runDir, 'samples.png'), this.evalModel, valSet, { count: this.cfg.train.samples, transform, classNames: this.parts.classNames, palette: valSet.labelMap?.palette });
    } else if (this.cfg.train.samples > 0 && valSet instanceof SegDataset) {
      const transform = this.parts.valLoader.compose.toJSON() as StepConfig[];
      await writeSamples(join(this.runDir, 'samples.png'), this.evalModel, valSet, { count: this.cfg.train.samples, transform, ignoreIndex: this.parts.valLoader.ignoreIndex, channelsLast: this.cfg.model.channelsLast });
    }
    if (this.cfg.train.report) {
      writeRunReport(join(this.runDir, 'report.html'), runReportData(this.runDir, {
        title: `${this.cfg.name}: ${this.cfg.model.name}`,
        config: this.cfg,
        best: this.best,
        lastMetrics: this.lastMetrics,
        ...(this.lastConfusion ? { confusion: this.lastConfusion } : {}),
        ...(this.parts.classNames ? { classNames: this.parts.classNames } : {}),
        step: this.step,
        skipped: this.skipped,
      }));
    }
    writeFileAtomic(join(this.runDir, 'metrics.json'), JSON.stringify({ step: this.step, epoch: endEpoch, best: this.best, last: this.lastMetrics, skipped: this.skipped, stoppedEarly: this.stopRequested }, null, 2) + '\n');
    this.record({ type: 'end', step: this.step, epoch: endEpoch, best: this.best, skipped: this.skipped });
    this.print(`finished ${this.runDir} at step ${this.step} (epoch ${endEpoch})${this.best ? `: best ${this.best.metric} ${this.best.value.toFixed(4)} at step ${this.best.step}` : ''}`);
    return this.result();
  }

  private result(): FitResult {
    return { step: this.step, epoch: this.parts.trainLoader.state().epoch, best: this.best, lastMetrics: this.lastMetrics, skipped: this.skipped, stoppedEarly: this.stopRequested, interrupted: this.interruptRequested, runDir: this.runDir };
  }

  /** Asks a running fit() to stop after the current step with a checkpoint (Ctrl-C); resume continues exactly. */
  interrupt(): void {
    this.interruptRequested = true;
  }

  /** The checkpoints on disk, newest first (steps). */
  checkpoints(): number[] {
    return listCheckpoints(this.checkpointDir);
  }

  dispose(): void {
    this.events?.close();
    this.events = undefined;
    this.unlock?.();
    this.unlock = undefined;
    this.dropSnapshot();
    this.ema?.dispose();
  }
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Per-key mean over the batches of an accumulation group (a NaN anywhere stays NaN). */
function averaged(group: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(group[0]!)) out[k] = mean(group.map((g) => g[k]!));
  return out;
}
