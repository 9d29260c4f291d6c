// A whole training run from a config: data, model, optimizer, schedule, loss, evaluator, the
// Trainer; everything built here is released here. `segkit train` is this function.
import type { TrainConfig } from './config.js';
import type { RunData } from './setup.js';
import { classWeightingsOf } from '../losses/config.js';
import { buildData, buildModel, buildOptimizer, buildScheduler, prepareWeights, taskKind, totalSteps, weightsByName } from './setup.js';
import { cocoEvaluator, instanceTask } from './instance.js';
import { defaultEvaluator, defaultLoss } from './defaults.js';
import { Trainer, type FitResult, type TrainerHooks } from './trainer.js';
import { splitToCsv } from '../data/splits.js';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { DataParallel } from './parallel/leader.js';

export interface RunOptions {
  resume?: boolean;
  hooks?: TrainerHooks;
  print?: (line: string) => void;
  /** Ctrl-C stops after the current step with a checkpoint (a second one exits at once). */
  handleSigint?: boolean;
}

export async function runTraining(config: TrainConfig, opts: RunOptions = {}): Promise<FitResult> {
  const processes = config.train.processes;
  const instance = taskKind(config) === 'instance';
  if (instance && processes > 1) throw new Error(`train.processes: data-parallel training is for semantic models so far; ${config.model.name} trains with train.processes: 1`);
  // data-parallel processes share the cores: each gets its part unless threads says otherwise
  let cfg = processes > 1 && config.threads === undefined ? { ...config, threads: Math.max(1, Math.floor(availableParallelism() / processes)) } : config;
  // val.metric's default (miou) is a semantic metric; an instance model is judged by mask AP
  if (instance && cfg.val.metric === 'miou') cfg = { ...cfg, val: { ...cfg.val, metric: 'segm.AP' } };
  await prepareWeights(cfg); // named pretrained weights downloaded once, before the data is read
  const data = await buildData(cfg, processes > 1 ? { shard: { rank: 0, count: processes } } : {});
  const print = opts.print ?? console.log;
  if (data.stats) describeStats(cfg, data, print);
  const model = buildModel(cfg, data.task);
  const optimizer = buildOptimizer(cfg, model);
  // plug point: buildLoss(cfg.loss) from src/losses (a detector computes its own loss terms)
  const loss = instance ? undefined : defaultLoss(cfg, data.task, data.stats && weightsByName(data.stats));
  let trainer: Trainer | undefined;
  let onSigint: (() => void) | undefined;
  let parallel: DataParallel | undefined;
  try {
    let hooks = opts.hooks;
    if (processes > 1) {
      if (hooks?.startStep || hooks?.reduceGradients) throw new Error('train.processes > 1 runs its own startStep/reduceGradients hooks; leave them out of RunOptions.hooks');
      parallel = await DataParallel.start(cfg, model, optimizer.paramGroups.flatMap((g) => g.params));
      const dp = parallel;
      hooks = { ...hooks, startStep: (info) => dp.startStep(info), reduceGradients: (params, losses) => dp.reduceGradients(params, losses) };
    }
    const scheduler = buildScheduler(cfg, optimizer, totalSteps(cfg, data.trainLoader));
    trainer = new Trainer({
      config: cfg,
      model,
      optimizer,
      scheduler,
      trainLoader: data.trainLoader,
      valLoader: data.valLoader,
      ...(instance ? { task: instanceTask() } : { loss }),
      // plug point: ConfusionMatrix from src/metrics; COCO AP for instances
      makeEvaluator: instance ? () => cocoEvaluator(data.task.classNames ?? classNamesOf(data.task.numClasses)) : () => defaultEvaluator(data.task),
      buildModel: () => buildModel(cfg, data.task),
      // the run's own copy of its split and label map: `segkit eval runs/<name>/split.csv --split test`
      runFiles: {
        'split.csv': splitToCsv(data.split, resolve(join(cfg.outDir, cfg.name))),
        ...(data.labelMap ? { 'labelmap.json': JSON.stringify(data.labelMap, null, 1) + '\n' } : {}),
      },
      ...(data.task.classNames ? { classNames: data.task.classNames } : {}),
      ...(hooks ? { hooks } : {}),
      ...(opts.print ? { print: opts.print } : {}),
    });
    if (opts.handleSigint) {
      const t = trainer;
      let presses = 0;
      onSigint = () => {
        if (++presses > 1) process.exit(130);
        print('stopping after this step with a checkpoint (Ctrl-C again to quit at once)');
        t.interrupt();
      };
      process.on('SIGINT', onSigint);
    }
    const batches = processes > 1 ? `${data.trainLoader.length} batches of ${cfg.data.batchSize} x ${processes} processes` : `${data.trainLoader.length} batches of ${cfg.data.batchSize}`;
    print(`training ${cfg.model.name} on ${cfg.data.path}: ${data.train.length} train / ${data.val.length} val images, ${data.task.numClasses} classes, ${trainer.total} steps (${batches} per epoch) -> ${trainer.runDir}`);
    const result = await trainer.fit({ resume: opts.resume ?? false });
    const heldOut = data.split.names.filter((n) => n !== cfg.data.trainPart && n !== cfg.data.valPart && data.split.parts[n]!.length > 0);
    if (!result.interrupted && heldOut.length > 0 && result.best) {
      print(`held-out part '${heldOut[0]}' (${data.split.parts[heldOut[0]!]!.length} images): segkit eval ${join(trainer.runDir, 'split.csv')} --split ${heldOut[0]} --weights ${join(trainer.runDir, 'best.safetensors')}`);
    }
    return result;
  } finally {
    await parallel?.close();
    if (onSigint) process.off('SIGINT', onSigint);
    trainer?.dispose();
    loss?.dispose?.();
    optimizer.dispose();
    model.dispose();
    await data.trainLoader.close();
    await data.valLoader.close();
  }
}

/** 'background', then 'class1'.. for data without class names. */
const classNamesOf = (n: number): string[] => ['background', ...Array.from({ length: n - 1 }, (_, i) => `class${i + 1}`)];

/** One line each for what the train split's statistics set: the normalisation, the class weights. */
function describeStats(cfg: TrainConfig, data: RunData, print: (line: string) => void): void {
  const f = (xs: readonly number[]): string => xs.map((x) => x.toFixed(4)).join(', ');
  if (cfg.data.normalize === 'dataset' && data.normalize) print(`data.normalize 'dataset': mean ${f(data.normalize.mean)}, std ${f(data.normalize.std)} (${data.train.length} train images)`);
  const byName = weightsByName(data.stats!);
  for (const name of classWeightingsOf(cfg.loss)) print(`class weights '${name}' from the train split: ${f(byName[name]!)}`);
}
