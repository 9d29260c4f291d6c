// From a validated config to the parts a Trainer runs: the dataset split into train/val, the two
// loaders, the model (seeded, from the registry), the optimizer and the lr schedule by name.
import { cudaAvailable, setNumThreads } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { create, listModels, modelEntry, type ModelEntry } from '../models/registry.js';
import { replaceWithConvHead } from '../models/adapt.js';
import { resolveWeights } from '../models/resolve-weights.js';
import { weightsName } from '../models/weights.js';
import '../models/zoo.js';
import { SGD, Adam, AdamW, RAdam, ReduceLROnPlateau, OneCycleLR, PolynomialLR, CosineAnnealingLR, StepLR, MultiStepLR, LinearLR, withWarmup, type Optimizer, type Scheduler, type LRScheduler } from '../optim/index.js';
import { SegDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { openInput } from '../data/doctor/input.js';
import { applySplit, randomSplit, type Split } from '../data/splits.js';
import type { LabelMapSpec } from '../data/labelmap.js';
import { evalPreset, trainPreset, type StepConfig } from '../data/transforms/index.js';
import { IMAGENET_MEAN, IMAGENET_STD, type NormalizeParams } from '../data/transforms/normalize.js';
import { computeStats, type ClassWeights, type DatasetStats } from '../data/stats.js';
import { classWeightingsOf } from '../losses/config.js';
import type { TrainConfig } from './config.js';
import type { TaskInfo } from './defaults.js';
import { seedInit } from './rng.js';

/** A schedule stepped every optimizer step, or ReduceLROnPlateau stepped with each validation's metric. */
export type RunScheduler = (Scheduler & { step(): void }) | ReduceLROnPlateau;

export interface RunData {
  train: SegDataset;
  val: SegDataset;
  task: TaskInfo;
  trainLoader: DataLoader;
  valLoader: DataLoader;
  /** The split trained on (every part, test included) and the label map, for split.csv and labelmap.json in the run folder. */
  split: Split;
  labelMap?: LabelMapSpec;
  /** Statistics of the train split, when the config needs them (data.normalize 'dataset', class weights by name). */
  stats?: DatasetStats;
  /** The mean/std the normalize steps use (undefined: the pipelines have none, or keep their own). */
  normalize?: NormalizeParams;
}

/**
 * The config's task, from its model: 'instance' for a detector that segments objects (Mask
 * R-CNN), else 'semantic' (binary tasks included). An unknown model name counts as semantic
 * here; buildModel reports it.
 */
export function taskKind(cfg: TrainConfig): 'semantic' | 'instance' {
  try {
    return modelEntry(cfg.model.name).kind === 'instance' ? 'instance' : 'semantic';
  } catch {
    return 'semantic';
  }
}

/** Whether the config needs statistics of the train split (mean/std, class weights). */
export function needsStats(cfg: TrainConfig): boolean {
  return cfg.data.normalize === 'dataset' || classWeightingsOf(cfg.loss).length > 0;
}

/** The normalisation data.normalize asks for (stats: the train split's, for 'dataset'). */
function normalizeOf(cfg: TrainConfig, stats: DatasetStats | undefined): NormalizeParams | undefined {
  const n = cfg.data.normalize;
  if (n === undefined) return undefined;
  if (n === 'imagenet') return { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  if (n === 'dataset') {
    if (!stats) throw new Error("data.normalize 'dataset': the train split's statistics were not computed");
    // a channel without variation (a constant image set) would divide by zero
    return { mean: stats.mean, std: stats.std.map((s) => (s > 0 ? s : 1)) };
  }
  return { mean: n.mean, std: n.std };
}

/** The steps with every normalize step set to `params` (unchanged when params is undefined). */
function withNormalize(steps: StepConfig[], params: NormalizeParams | undefined): StepConfig[] {
  if (!params) return steps;
  return steps.map((s) => (s.name === 'normalize' ? { ...s, mean: [...params.mean], std: [...params.std] } : s));
}

/** Opens the dataset, splits it and builds the loaders (`shard`: this process's part of each batch in data-parallel training). */
export async function buildData(cfg: TrainConfig, opts: { shard?: { rank: number; count: number } } = {}): Promise<RunData> {
  const d = cfg.data;
  const opened = await openInput(d.path, { ...(d.labelMap ? { labelMap: d.labelMap } : {}), ...(d.maskMode ? { maskMode: d.maskMode } : {}) }).catch((e: Error) => {
    throw new Error(`data.path: ${e.message}`, { cause: e });
  });
  const split = opened.split ?? randomSplit(opened.spec.refs, d.splitRatios, { seed: d.splitSeed });
  const parts = applySplit(opened.spec, split);
  for (const [key, part] of [['data.trainPart', d.trainPart], ['data.valPart', d.valPart]] as const) {
    if (!parts[part] || parts[part].refs.length === 0) {
      throw new Error(`${key}: the split of ${d.path} has no part '${part}' with samples; its parts: ${split.names.map((n) => `${n} (${split.parts[n]?.length ?? 0})`).join(', ')}`);
    }
  }
  const instance = taskKind(cfg) === 'instance';
  if (instance && !opened.spec.instances) {
    throw new Error(`data.path: ${cfg.model.name} segments instances, but ${d.path} has no per-object annotations; give a COCO instances JSON (a dataset config with type: coco, or a folder holding annotations.json)`);
  }
  const train = new SegDataset(parts[d.trainPart]!);
  const val = new SegDataset(parts[d.valPart]!);
  const numClasses = d.numClasses ?? train.labelMap?.numClasses;
  if (numClasses === undefined) throw new Error(`data.numClasses: ${d.path} has no label map to count the classes from; set data.numClasses (or data.labelMap)`);
  const ignoreIndex = train.labelMap?.ignoreIndex ?? 255;
  const task: TaskInfo = { numClasses, ignoreIndex, ...(train.classes ? { classNames: train.classes } : {}) };
  let stats: DatasetStats | undefined;
  if (needsStats(cfg)) {
    stats = (await computeStats(train, { numClasses, ignoreIndex, concurrency: Math.max(1, d.numWorkers) })).stats;
  }
  const normalize = normalizeOf(cfg, stats);
  // a detector normalises its 0..1 input itself and takes images of any size (a list); its
  // default augmentation is torchvision's detection reference's: a horizontal flip
  const [trainDefault, valDefault]: StepConfig[][] = instance ? [[{ name: 'horizontalFlip', p: 0.5 }], []] : [[{ name: 'normalize' }], [{ name: 'normalize' }]];
  const trainSteps = withNormalize(d.transforms ?? (d.crop !== undefined ? trainPreset(d.crop) : trainDefault), normalize);
  const valSteps = withNormalize(d.valTransforms ?? (d.crop !== undefined ? evalPreset(d.crop) : valDefault), normalize);
  const list = instance ? { imageList: true } : {};
  const trainLoader = new DataLoader(train, { batchSize: d.batchSize, shuffle: true, seed: cfg.seed, dropLast: d.dropLast, numWorkers: d.numWorkers, transform: trainSteps, ignoreIndex, ...list, ...(opts.shard ? { shard: opts.shard } : {}) });
  const valLoader = new DataLoader(val, { batchSize: d.valBatchSize ?? d.batchSize, numWorkers: d.numWorkers, transform: valSteps, ignoreIndex, ...list });
  return { train, val, task, trainLoader, valLoader, split, ...(train.labelMap ? { labelMap: train.labelMap.spec } : {}), ...(stats ? { stats } : {}), ...(normalize ? { normalize } : {}) };
}

/** Class weights by weighting name ('median-frequency' ...), from the train split's statistics, one per class. */
export function weightsByName(stats: DatasetStats): Record<string, number[]> {
  const w: ClassWeights = stats.weights;
  return { inverse: w.inverse, 'max-over-count': w.maxOverCount, 'median-frequency': w.medianFrequency, enet: w.enet };
}

/**
 * Downloads the named weights of model.options (weights, weightsBackbone: 'DEFAULT', ...) into
 * torch.hub's cache when missing, so buildModel's synchronous create finds them.
 */
export async function prepareWeights(cfg: TrainConfig): Promise<void> {
  const o = cfg.model.options;
  let entry: ModelEntry;
  try {
    entry = modelEntry(cfg.model.name);
  } catch {
    return; // buildModel reports the unknown name
  }
  const wanted: [string, string, unknown][] = [['weights', entry.name, o.weights], ['weightsBackbone', entry.backboneName ?? entry.backbone ?? '', o.weightsBackbone]];
  for (const [key, builder, w] of wanted) {
    if (typeof w !== 'string' || !builder || weightsName(builder, w) === undefined) continue;
    await resolveWeights(builder, w).catch((e: Error) => {
      throw new Error(`model.options.${key}: ${e.message}`, { cause: e });
    });
  }
}

/** Output channels: one per class, or one sigmoid channel for a binary task with loss.output 'sigmoid'. */
export function outputChannels(cfg: TrainConfig, task: TaskInfo): number {
  if (cfg.loss.output !== 'sigmoid') return task.numClasses;
  if (task.numClasses !== 2) {
    throw new Error(`loss.output: 'sigmoid' (one output channel) is for binary data, but this dataset has ${task.numClasses} classes; use 'softmax' (the default)`);
  }
  return 1;
}

/**
 * The device the config trains on: `device` as given, or for 'auto' the first CUDA device when
 * the linked libtorch has CUDA and sees a GPU, else 'cpu'. Asking for CUDA without it is an error.
 */
export function trainDevice(cfg: TrainConfig): string {
  if (cfg.device === 'auto') return cudaAvailable() ? 'cuda:0' : 'cpu';
  if (cfg.device.startsWith('cuda') && !cudaAvailable()) {
    throw new Error(`device: '${cfg.device}' asked for, but the linked libtorch has no CUDA or sees no GPU (\`segkit info\` shows it); set device: cpu, or point LIBTORCH at a CUDA build of libtorch`);
  }
  return cfg.device;
}

/** Builds the model of the config, seeded, with `numClasses` from the data, on the config's device (same call for the EMA copy). */
export function buildModel(cfg: TrainConfig, task: TaskInfo): Module {
  if (cfg.threads !== undefined) setNumThreads(cfg.threads);
  const device = trainDevice(cfg); // before building, so a refusal leaves nothing to free
  let entry: ModelEntry;
  try {
    entry = modelEntry(cfg.model.name);
  } catch (e) {
    throw new Error(`model.name: ${(e as Error).message}`, { cause: e });
  }
  if (entry.kind === 'classification') {
    throw new Error(`model.name: '${entry.name}' is a ${entry.kind} network, not a segmentation model; segmentation models: ${[...listModels('semantic'), ...listModels('instance')].map((m) => m.name).join(', ')}`);
  }
  seedInit(cfg.seed);
  let model: Module;
  try {
    model = create(entry.name, { ...cfg.model.options, numClasses: outputChannels(cfg, task) });
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(`${/option/.test(msg) ? 'model.options' : 'model'}: ${msg}`, { cause: e });
  }
  const head = cfg.model.head;
  if (head) {
    try {
      replaceWithConvHead(model, head.replace, outputChannels(cfg, task), { hidden: head.hidden, dropout: head.dropout });
    } catch (e) {
      model.dispose();
      throw new Error(`model.head.replace: ${(e as Error).message}`, { cause: e });
    }
  }
  if (device !== 'cpu') model.to({ device });
  return cfg.model.channelsLast ? model.toChannelsLast() : model;
}

export function buildOptimizer(cfg: TrainConfig, model: Module): Optimizer {
  const o = cfg.optimizer;
  const params = model.parameters().filter((p) => p.requiresGrad);
  switch (o.name) {
    case 'sgd':
      return new SGD(params, { lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay });
    case 'adam':
      return new Adam(params, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
    case 'radam':
      return new RAdam(params, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
  }
}

/** Optimizer steps per epoch: the loader's batches in groups of gradAccum (a last short group steps too). */
export function stepsPerEpoch(cfg: TrainConfig, loader: DataLoader): number {
  return Math.ceil(loader.length / cfg.train.gradAccum);
}

/** Steps of the whole run. */
export function totalSteps(cfg: TrainConfig, loader: DataLoader): number {
  return cfg.train.iterations ?? (cfg.train.epochs ?? 10) * stepsPerEpoch(cfg, loader);
}

/** The lr schedule of the config over `total` optimizer steps (null for 'none' without warm-up). */
export function buildScheduler(cfg: TrainConfig, optimizer: Optimizer, total: number): RunScheduler | null {
  const s = cfg.scheduler;
  const warm = s.warmupIters;
  if (warm >= total && s.name !== 'none') throw new Error(`scheduler.warmupIters (${warm}) must be below the run's ${total} steps`);
  const rest = total - warm;
  let inner: LRScheduler<object> | null;
  switch (s.name) {
    case 'none':
      return warm > 0 ? new LinearLR(optimizer, { startFactor: s.warmupFactor, endFactor: 1, totalIters: warm }) : null;
    case 'onecycle':
      inner = new OneCycleLR(optimizer, { maxLr: s.maxLr ?? cfg.optimizer.lr, totalSteps: rest, pctStart: s.pctStart, divFactor: s.divFactor, finalDivFactor: s.finalDivFactor });
      break;
    case 'poly':
      inner = new PolynomialLR(optimizer, { totalIters: rest, power: s.power, minLr: s.minLr });
      break;
    case 'cosine':
      inner = new CosineAnnealingLR(optimizer, { tMax: rest, etaMin: s.minLr });
      break;
    case 'step':
      inner = new StepLR(optimizer, { stepSize: s.stepSize!, gamma: s.gamma });
      break;
    case 'multistep':
      inner = new MultiStepLR(optimizer, { milestones: s.milestones, gamma: s.gamma });
      break;
    case 'plateau':
      return new ReduceLROnPlateau(optimizer, { mode: cfg.val.mode, factor: s.gamma, patience: s.patience, minLr: s.minLr });
  }
  return warm > 0 ? withWarmup(inner, { iters: warm, startFactor: s.warmupFactor }) : inner;
}
