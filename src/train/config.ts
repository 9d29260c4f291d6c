// The training config: one zod schema that validates YAML/JSON files, fills every default, and
// generates `segkit train --help` (each key with its default and description). Errors name the
// file and the dotted key, and list the valid keys when one is unknown. `--set key=value`
// overrides are applied to the raw file before validation, so they get the same checks.
//
//   const cfg = loadTrainConfig('configs/shapes.yaml', ['optimizer.lr=0.01', 'train.epochs=3']);
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { transformConfigSchema } from '../data/transforms/config.js';
import { lossSpecSchema } from '../losses/config.js';

const int0 = z.number().int().min(0);
const int1 = z.number().int().min(1);
const size = z.union([int1, z.tuple([int1, int1])]);
/** A nested section: strict (unknown keys are errors) and filled with its defaults when absent. */
const section = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict().prefault({} as never);

export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'radam'] as const;
export const SCHEDULERS = ['none', 'onecycle', 'poly', 'cosine', 'step', 'multistep', 'plateau'] as const;

const data = section({
  path: z.string().min(1).describe('dataset folder, dataset config (.yaml/.json), CSV index or split CSV (required)'),
  labelMap: z.string().optional().describe('label map file for inputs without one (default: labelmap.json in the folder)'),
  maskMode: z.enum(['ids', 'rgb']).optional().describe('masks hold class ids or colours'),
  numClasses: int1.optional().describe('class count (default: from the label map)'),
  splitRatios: z.array(z.number().positive()).min(2).default([7, 2, 1]).describe('train:val[:test] ratios when the input carries no split'),
  splitSeed: int0.default(0).describe('seed of that random split'),
  trainPart: z.string().default('train').describe('split part trained on'),
  valPart: z.string().default('val').describe('split part validated on'),
  batchSize: int1.default(8).describe('training batch size of each process (per optimizer step: batchSize x train.gradAccum x train.processes samples)'),
  valBatchSize: int1.optional().describe('validation batch size (default: batchSize)'),
  numWorkers: int0.default(0).describe('loader worker threads (0: decode on the main thread)'),
  dropLast: z.boolean().default(false).describe('drop the last, smaller training batch of each epoch'),
  crop: size.optional().describe('crop size [h, w] of the default pipelines (train: scale+crop+flip+photometric; val: resize+pad)'),
  transforms: transformConfigSchema.optional().describe("training augmentation steps and presets ({ preset: lsj }) (default: trainPreset(crop), or normalize only)"),
  valTransforms: transformConfigSchema.optional().describe('validation steps (default: evalPreset(crop), or normalize only)'),
  normalize: z
    .union([z.enum(['imagenet', 'dataset']), z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).strict()])
    .optional()
    .describe("mean/std of every normalize step: 'imagenet', 'dataset' (computed from the train split, report 004) or { mean: [..], std: [..] } in 0-1 units (default: each step's own, ImageNet's)"),
});

const model = section({
  name: z.string().default('unet').describe('registered model name (see models.listModels(): unet, deeplabv3_resnet50, unet_resnet34, ...)'),
  options: z.record(z.string(), z.unknown()).default({}).describe('builder options, e.g. { baseWidth: 16, depth: 4 } or { weightsBackbone: DEFAULT }; numClasses comes from data'),
  channelsLast: z.boolean().default(true).describe('run the model and its inputs in channels-last memory format'),
  head: z
    .object({
      replace: z.string().min(1).describe("dotted path of the conv replaced, e.g. 'classifier.4' (DeepLabv3's last 1x1 conv)"),
      hidden: int1.default(256).describe('channels of the 3x3 conv'),
      dropout: z.number().min(0).lt(1).default(0.5).describe('dropout before the last 1x1 conv'),
    })
    .strict()
    .optional()
    .describe("replace a submodule after the weights load by conv3x3-BN-ReLU-Dropout-conv1x1 to the output channels (report 000's head), e.g. { replace: classifier.4 }"),
});

const optimizer = section({
  name: z.enum(OPTIMIZERS).default('adamw').describe(`optimizer: ${OPTIMIZERS.join(', ')}`),
  lr: z.number().positive().default(1e-3).describe('learning rate (the peak for onecycle unless scheduler.maxLr)'),
  weightDecay: z.number().min(0).default(0).describe('weight decay (decoupled for adamw, L2 otherwise)'),
  momentum: z.number().min(0).max(1).default(0.9).describe('sgd momentum'),
  nesterov: z.boolean().default(false).describe('sgd Nesterov momentum'),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]).describe('adam/adamw/radam betas'),
});

const scheduler = section({
  name: z.enum(SCHEDULERS).default('none').describe(`lr schedule, stepped every optimizer step (plateau: after each validation, on val.metric): ${SCHEDULERS.join(', ')}`),
  warmupIters: int0.default(0).describe('linear warm-up steps in front of the schedule (0: none)'),
  warmupFactor: z.number().gt(0).max(1).default(1 / 3).describe('warm-up start lr as a fraction of the lr'),
  maxLr: z.number().positive().optional().describe('onecycle peak lr (default optimizer.lr)'),
  pctStart: z.number().gt(0).lt(1).default(0.3).describe('onecycle: fraction of steps spent rising'),
  divFactor: z.number().positive().default(25).describe('onecycle: start lr = maxLr / divFactor'),
  finalDivFactor: z.number().positive().default(1e4).describe('onecycle: final lr = start lr / finalDivFactor'),
  power: z.number().positive().default(0.9).describe('poly: exponent'),
  minLr: z.number().min(0).default(0).describe('cosine/poly: final lr'),
  stepSize: int1.optional().describe('step: steps between lr drops (required for step)'),
  milestones: z.array(int1).default([]).describe('multistep: steps at which the lr drops'),
  gamma: z.number().positive().default(0.1).describe('step/multistep/plateau: lr factor at each drop'),
  patience: int0.default(10).describe('plateau: validations without improvement before the lr drops'),
});

const train = section({
  epochs: int1.optional().describe('epochs to train (give epochs or iterations; default 10 when neither)'),
  iterations: int1.optional().describe('optimizer steps to train instead of epochs'),
  gradAccum: int1.default(1).describe('batches whose gradients add up into one optimizer step'),
  gradClip: z.number().positive().optional().describe('clip the global gradient L2 norm to this (default: no clipping)'),
  amp: z.union([z.boolean(), z.literal('auto')]).default(false).describe("mixed precision: bfloat16 autocast on CPU, float16 autocast on CUDA; 'auto' on CPU times both on the first batch and uses bfloat16 where it is at least 10% faster on this machine (recorded in the run, so --resume keeps the choice), on CUDA uses float16"),
  gradScaler: z.union([z.boolean(), z.literal('auto')]).default('auto').describe("dynamic loss scaling (GradScaler): 'auto' turns it on exactly when training under float16 autocast (CUDA); steps whose scaled gradients overflow are skipped and the scale halved (recorded in train.jsonl, kept in checkpoints)"),
  processes: int1.default(1).describe('data-parallel processes on this machine, each with its own data.batchSize samples per step and `threads` libtorch threads; gradients averaged (effective batch data.batchSize x processes)'),
  nonFinite: z.enum(['stop', 'skip']).default('stop').describe('on a NaN/Inf loss or gradient: stop with the loss terms, or skip the step'),
  maxSkipped: int0.default(10).describe('with nonFinite skip: stop after this many skipped steps'),
  logEvery: int1.default(1).describe('write a train.jsonl record (and TensorBoard scalars) every N steps'),
  samples: int0.default(4).describe('validation images drawn as image | truth | prediction rows into samples.png at the end (0: none)'),
  report: z.boolean().default(true).describe('write report.html (curves, per-class table, confusion matrix, samples) at the end'),
  tensorboard: z.boolean().default(true).describe('also write TensorBoard event files into the run folder'),
});

const val = section({
  every: int1.default(1).describe('validate every N units (see unit)'),
  unit: z.enum(['epoch', 'iteration']).default('epoch').describe('what val.every counts'),
  metric: z.string().default('miou').describe("metric that picks the best checkpoint and drives early stopping (instance models: 'segm.AP' in place of the default miou; also bbox.AP, segm.AP50, ...)"),
  mode: z.enum(['max', 'min']).default('max').describe('whether a larger or smaller metric is better'),
});

const earlyStopping = section({
  patience: int1.optional().describe('stop after this many validations without improvement (default: never)'),
  minDelta: z.number().min(0).default(0).describe('improvement smaller than this does not count'),
});

const checkpoint = section({
  every: int1.default(1).describe('write a resumable checkpoint every N units (and always at the end)'),
  unit: z.enum(['epoch', 'iteration']).default('epoch').describe('what checkpoint.every counts'),
  keep: int0.default(2).describe('periodic checkpoints kept (0: all); best.safetensors and last.safetensors are separate'),
});

const ema = section({
  enabled: z.boolean().default(false).describe('keep an exponential moving average of the weights; validate and save it'),
  decay: z.number().gt(0).lt(1).default(0.999).describe('EMA decay per optimizer step'),
});

const test = section({
  scales: z.array(z.number().positive()).min(1).optional().describe('test-time scales averaged by segkit eval/predict with this run\'s weights, e.g. [0.5, 0.75, 1, 1.25, 1.5, 1.75] (recorded in best/last.safetensors; validation during training stays single-scale)'),
  flip: z.union([z.boolean(), z.enum(['horizontal', 'vertical', 'both'])], { error: 'takes true, false, horizontal, vertical or both' }).default(false).describe('segkit eval/predict also average mirrored images: true/horizontal, vertical, or both (4 passes); recorded like test.scales'),
});

// The loss: src/losses' spec (output, ignoreIndex, auxWeight, terms), cross-entropy by default.
const loss = lossSpecSchema.prefault({ terms: [{ name: 'ce' }] }).describe('loss spec of src/losses (buildLoss): output, ignoreIndex, auxWeight, terms');

export const trainConfigSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, 'use letters, digits, _ . - only').default('run').describe('run name: outputs go to <outDir>/<name>/'),
    outDir: z.string().default('runs').describe('folder holding the runs'),
    seed: int0.default(0).describe('seed of model init, shuffling, augmentation and dropout'),
    threads: int1.optional().describe('libtorch intra-op threads (default: all cores; 1 for bit-exact reruns)'),
    device: z
      .string()
      .regex(/^(auto|cpu|cuda(:\d+)?)$/, { error: "takes auto, cpu, cuda or cuda:N (e.g. cuda:1)" })
      .default('auto')
      .describe("where the model trains: cpu, cuda / cuda:N, or 'auto' (the first CUDA device when libtorch has CUDA and sees a GPU, else cpu)"),
    data,
    model,
    optimizer,
    scheduler,
    loss,
    train,
    val,
    earlyStopping,
    checkpoint,
    ema,
    test,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.train.epochs !== undefined && c.train.iterations !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['train', 'iterations'], message: 'give train.epochs or train.iterations, not both' });
    }
    if (c.scheduler.name === 'step' && c.scheduler.stepSize === undefined) {
      ctx.addIssue({ code: 'custom', path: ['scheduler', 'stepSize'], message: 'scheduler step needs stepSize (steps between drops)' });
    }
    if (c.scheduler.name === 'plateau' && c.scheduler.warmupIters > 0) {
      ctx.addIssue({ code: 'custom', path: ['scheduler', 'warmupIters'], message: 'scheduler plateau takes no warm-up; set warmupIters 0' });
    }
    if (c.data.normalize !== undefined) {
      (['transforms', 'valTransforms'] as const).forEach((key) => {
        if (c.data[key] && !c.data[key].some((s) => s.name === 'normalize')) {
          ctx.addIssue({ code: 'custom', path: ['data', 'normalize'], message: `data.normalize sets the normalize steps, but data.${key} has none; end data.${key} with { name: normalize }` });
        }
      });
      if (typeof c.data.normalize === 'object' && c.data.normalize.mean.length !== c.data.normalize.std.length) {
        ctx.addIssue({ code: 'custom', path: ['data', 'normalize'], message: `data.normalize: mean has ${c.data.normalize.mean.length} entries and std ${c.data.normalize.std.length}; give one of each per channel` });
      }
    }
    if (c.scheduler.name === 'multistep' && c.scheduler.milestones.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['scheduler', 'milestones'], message: 'scheduler multistep needs milestones, e.g. [1000, 2000]' });
    }
  });

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

// ---- errors that point at the key ----------------------------------------------------------

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  default?: unknown;
  description?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
};
let jsonSchema: JsonSchema | undefined;
function schemaJson(): JsonSchema {
  jsonSchema ??= z.toJSONSchema(trainConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return jsonSchema;
}

/** A union's variant for `value`: the one whose `name` constant matches, else the first object one. */
function variant(s: JsonSchema | undefined, value: unknown): JsonSchema | undefined {
  const options = s?.oneOf ?? s?.anyOf;
  if (!options) return s;
  const name = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).name : undefined;
  return options.find((o) => o.properties?.name?.const === name) ?? options.find((o) => o.properties) ?? s;
}

/** The valid keys of the section at `path` (top level for []); `raw` picks list items' variants. */
export function keysAt(path: readonly (string | number)[], raw?: unknown): string[] {
  let s: JsonSchema | undefined = schemaJson();
  let v = raw;
  for (const p of path) {
    s = variant(s, v);
    s = typeof p === 'number' ? s?.items : s?.properties?.[String(p)];
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  }
  return Object.keys(variant(s, v)?.properties ?? {});
}

function closest(word: string, options: string[]): string | undefined {
  const d = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const best = options.map((o) => ({ o, d: d(word, o) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** One line per problem: `optimizer.lrr: unknown key (did you mean lr?); valid keys: ...`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string[] {
  const lines: string[] = [];
  for (const i of issues) {
    const where = i.path.reduce<string>((w, p) => (typeof p === 'number' ? `${w}[${p}]` : w ? `${w}.${String(p)}` : String(p)), '');
    if (i.code === 'unrecognized_keys') {
      const valid = keysAt(i.path as (string | number)[], raw);
      for (const k of i.keys) {
        const near = closest(k, valid);
        lines.push(`${where ? `${where}.` : ''}${k}: unknown key${near ? ` (did you mean ${near}?)` : ''}; valid keys${where ? ` in ${where}` : ''}: ${valid.join(', ')}`);
      }
      continue;
    }
    const got = valueAt(raw, i.path);
    if (got === undefined && i.code === 'invalid_type') {
      let s: JsonSchema | undefined = schemaJson();
      for (const p of i.path) s = s?.properties?.[String(p)];
      lines.push(`${where}: missing, and it has no default${s?.description ? ` (${s.description})` : ''}`);
      continue;
    }
    const shown = got === undefined ? 'nothing' : JSON.stringify(got);
    lines.push(`${where || '(root)'}: ${i.message}${i.code === 'custom' ? '' : ` (got ${shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : shown})`}`);
  }
  return lines;
}

// ---- reading, overrides, validation -------------------------------------------------------

/** Applies `key.sub=value` overrides (value read as YAML: numbers, booleans, [lists], {maps}); `key=null` removes the key. */
export function applyOverrides(raw: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set ${s}: expected key=value, e.g. --set optimizer.lr=0.01`);
    const keys = s.slice(0, eq).trim().split('.');
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = text === '' ? '' : parseYaml(text);
    } catch {
      value = text;
    }
    let node: Record<string, unknown> = out;
    keys.slice(0, -1).forEach((k, depth) => {
      const next = node[k];
      if (next === undefined || next === null) node[k] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        throw new Error(`--set ${s}: ${keys.slice(0, depth + 1).join('.')} is ${JSON.stringify(next)}, not a section; valid keys there: ${keysAt(keys.slice(0, depth)).join(', ')}`);
      }
      node = node[k] as Record<string, unknown>;
    });
    if (value === null) delete node[keys[keys.length - 1]!]; // key=null: back to the default / unset
    else node[keys[keys.length - 1]!] = value;
  }
  return out;
}

/** Validates a raw config (already overridden); `source` names it in errors. */
export function parseTrainConfig(raw: unknown, source = '(object)'): TrainConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${source}: a train config is a mapping with sections such as data, model, optimizer, train; got ${Array.isArray(raw) ? 'a list' : JSON.stringify(raw)}`);
  }
  const r = trainConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`invalid train config ${source}:\n${formatIssues(r.error.issues, raw).map((l) => `  ${l}`).join('\n')}\n(segkit train --help lists every key with its default)`);
  }
  return r.data;
}

/** Reads a YAML or JSON config file, applies `--set` overrides and validates. */
export function loadTrainConfig(file: string, sets: readonly string[] = []): TrainConfig {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${file}: cannot read the train config (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return parseTrainConfig(raw, file);
  return parseTrainConfig(applyOverrides(raw as Record<string, unknown>, sets), file);
}

// ---- help ------------------------------------------------------------------------------------

function typeName(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join('|');
  if (s.anyOf) return s.anyOf.map(typeName).join(' | ');
  if (Array.isArray(s.type)) return s.type.join('|');
  return s.type ?? 'any';
}

/** Descriptions of keys whose schema comes from another layer (src/losses' spec). */
const HELP: Record<string, string> = {
  'loss.output': "'softmax' (class logits) or 'sigmoid' (one binary channel)",
  'loss.ignoreIndex': 'target value left out of the loss (default: the label map ignore index, else 255)',
  'loss.auxWeight': "weight of the aux head's loss when the model returns aux",
  'loss.terms': "terms summed with their weights: ce, bce, focal, dice, tversky, lovasz, boundary, e.g. [{ name: focal }, { name: dice, weight: 0.5 }]; ce/focal classWeights: numbers, or computed from the train split: 'inverse', 'max-over-count', 'median-frequency', 'enet'",
};

/** Every key as `section.key  type  (default: v)  description`, for `segkit train --help`. */
export function configHelp(): string {
  const rows: string[][] = [];
  const walk = (s: JsonSchema, prefix: string, defaults: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const key = prefix + k;
      if (v.properties && v.type === 'object' && !key.endsWith('options')) {
        if (v.description) rows.push([key, '', v.description]); // an optional block (model.head): what it does, then its keys
        walk(v, `${key}.`, v.default as Record<string, unknown> | undefined);
        continue;
      }
      const d = v.default ?? defaults?.[k];
      rows.push([key, d === undefined ? '' : `(default ${JSON.stringify(d)})`, HELP[key] ?? v.description ?? typeName(v)]);
    }
  };
  walk(schemaJson(), '', undefined);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return rows.map(([k, d, desc]) => `  ${k!.padEnd(w0)}  ${d!.padEnd(w1)}  ${desc}`).join('\n');
}

/** Dotted keys whose values differ between two plain JSON values, as `key: old -> new`. */
export function configDiff(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => configDiff(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}
