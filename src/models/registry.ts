// One registry of model builders by their reference names (torchvision's builder names, smp's
// architecture + encoder), so configs and the CLI can say `deeplabv3_resnet101` or
// `unet_resnet34` and get the same model as the typed builders.
//
//   const model = models.create('deeplabv3_resnet101', { numClasses: 4, auxLoss: true });
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/index.js';
import { torchHubCheckpointsDir } from '../io/download.js';
import { describeLoad, loadPretrained, type LoadReport } from './pretrained.js';
import { WEIGHTS_BUILDERS, weightsInfo, weightsName, weightsNames, type WeightsInfo } from './weights.js';
import { resolveWeights, type ResolveWeightsOptions } from './resolve-weights.js';
import type { SegmentationBuilderOptions } from './options.js';

export interface CreateOptions extends SegmentationBuilderOptions {
  /** Weights for the whole model: a .pth/.pt/.safetensors path, or a weight name ('DEFAULT', 'COCO_WITH_VOC_LABELS_V1'). */
  weights?: string;
  /** Weights for the backbone/encoder only: a path or an ImageNet weight name ('DEFAULT', 'IMAGENET1K_V2'). */
  weightsBackbone?: string;
  /** Receives the report of each weights load (default: a summary on stderr when keys were skipped). */
  onLoad?: (report: LoadReport) => void;
  /** Further options of a particular builder (e.g. UNet's baseWidth). */
  [option: string]: unknown;
}

export type ModelKind = 'semantic' | 'classification' | 'instance';

export interface ModelEntry {
  name: string;
  kind: ModelKind;
  /** One line for listings and --help. */
  description: string;
  /** Where the reference lives ('torchvision', 'smp', 'segkit'). */
  reference: string;
  build: (opts: CreateOptions) => Module;
  /** The submodule that weightsBackbone loads into ('backbone', 'encoder'). */
  backbone?: string;
  /** The backbone's reference builder, for weight names ('resnet50'). */
  backboneName?: string;
  /** Prefix the backbone's keys carry in the classifier's file ('features.' for MobileNets). */
  backbonePrefix?: string;
  /** Options beyond the common ones this builder takes. */
  extraOptions?: string[];
  /**
   * Runs after the whole model's weights are loaded, with the file and, when given by name, its
   * description (Mask R-CNN v1's COCO weights need FrozenBatchNorm2d eps 0, torchvision's overwrite_eps).
   */
  afterLoad?: (model: Module, weights: { file: string; info?: WeightsInfo }) => void;
}

const entries = new Map<string, ModelEntry>();

/** Adds a builder under its reference name (throws when the name is taken). */
export function register(entry: ModelEntry): void {
  if (entries.has(entry.name)) throw new Error(`models.register: '${entry.name}' is already registered`);
  entries.set(entry.name, entry);
}

/** Every registered model, in registration order. */
export function listModels(kind?: ModelKind): ModelEntry[] {
  return [...entries.values()].filter((e) => kind === undefined || e.kind === kind);
}

export function modelEntry(name: string): ModelEntry {
  const want = name.toLowerCase().replace(/-/g, '_');
  const e = entries.get(name) ?? entries.get(want);
  if (e === undefined) {
    // close names: a few typos away, or sharing the first word ('deeplabv3')
    const word = want.split('_')[0];
    const near = [...entries.keys()]
      .map((k) => ({ k, d: editDistance(want, k) }))
      .filter(({ k, d }) => d <= Math.max(2, Math.floor(want.length / 4)) || (word !== '' && k.includes(word)))
      .sort((a, b) => a.d - b.d)
      .map(({ k }) => k);
    throw new Error(`unknown model '${name}'${near.length ? `; did you mean ${near.slice(0, 4).map((n) => `'${n}'`).join(', ')}? ` : '. '}Models: ${[...entries.keys()].join(', ')}`);
  }
  return e;
}

/** Levenshtein distance: single-character insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * The file for `weights` given to builder `builder`: a path as it is, or a torchvision weight name
 * found in torch.hub's cache. A name not cached yet is an error that says how to get it (create
 * is synchronous; createAsync downloads).
 */
function weightFile(builder: string, nameOrPath: string): { file: string; info?: WeightsInfo } {
  if (weightsName(builder, nameOrPath) === undefined) {
    if (existsSync(nameOrPath)) return { file: nameOrPath };
    const names = (WEIGHTS_BUILDERS as readonly string[]).includes(builder) ? weightsNames(builder) : [];
    throw new Error(`${nameOrPath}: no such weights file${names.length ? `, and not a weight name of ${builder} (${names.join(', ')})` : ''}`);
  }
  const info = weightsInfo(builder, nameOrPath);
  const file = join(torchHubCheckpointsDir(), info.fileName);
  if (!existsSync(file)) {
    throw new Error(`${builder} weights ${info.name} are not in the cache (${file}). ` +
      `models.createAsync(...) downloads them from ${info.url}; offline, put that file there, or pass a .pth/.safetensors path as weights.`);
  }
  return { file, info };
}

const COMMON = new Set(['numClasses', 'inChannels', 'auxLoss', 'weights', 'weightsBackbone', 'onLoad']);

/** What a model built by create() knows about the weights it was given (categories, preprocessing). */
export interface ModelWeightsInfo {
  /** The weights of the whole model, when given by name. */
  weights?: WeightsInfo;
  /** The backbone's weights, when given by name (their preprocessing applies to the whole model). */
  weightsBackbone?: WeightsInfo;
}

const infos = new WeakMap<Module, ModelWeightsInfo>();

/** The descriptions of the named weights `model` was built with by create(), if any. */
export function weightsOf(model: Module): ModelWeightsInfo {
  return infos.get(model) ?? {};
}

/**
 * Builds a registered model by name, loading `weights` / `weightsBackbone` when given: paths, or
 * torchvision weight names already in torch.hub's cache (createAsync downloads missing ones).
 */
export function create(name: string, opts: CreateOptions = {}): Module {
  const entry = checked(name, opts);
  const backbone = opts.weightsBackbone === undefined ? undefined : weightFile(backboneOf(entry), opts.weightsBackbone);
  const weights = opts.weights === undefined ? undefined : weightFile(entry.name, opts.weights);
  return build(entry, opts, weights, backbone);
}

/**
 * create(), after downloading named weights that are not in torch.hub's cache yet (official URL,
 * progress bar, hash check). Offline, the error says which file to put where.
 */
export async function createAsync(name: string, opts: CreateOptions & { download?: ResolveWeightsOptions } = {}): Promise<Module> {
  const { download, ...rest } = opts;
  const entry = checked(name, rest);
  const resolve = async (builder: string, w: string | undefined) =>
    w === undefined ? undefined : { file: await resolveWeights(builder, w, download), info: weightsName(builder, w) === undefined ? undefined : weightsInfo(builder, w) };
  const backbone = await resolve(backboneOf(entry), opts.weightsBackbone);
  const weights = await resolve(entry.name, opts.weights);
  return build(entry, rest, weights, backbone);
}

function checked(name: string, opts: CreateOptions): ModelEntry {
  const entry = modelEntry(name);
  // a classifier or detector has no auxiliary head, a detector takes RGB only: these would be silently ignored
  const common = [...COMMON].filter((k) => (entry.kind === 'semantic' || k !== 'auxLoss') && (entry.kind !== 'instance' || k !== 'inChannels'));
  const takes = [...common, ...(entry.extraOptions ?? [])];
  const unknown = Object.keys(opts).filter((k) => !takes.includes(k) && opts[k] !== undefined);
  if (unknown.length > 0) {
    // PyTorch's snake_case names (num_classes, aux_loss) are the likely slip
    const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hints = unknown.filter((k) => takes.includes(camel(k))).map((k) => `${k} → ${camel(k)}`);
    throw new Error(`${entry.name}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}${hints.length ? ` (options are camelCase: ${hints.join(', ')})` : ''}; it takes ${takes.join(', ')}`);
  }
  if (opts.weightsBackbone !== undefined && entry.backbone === undefined) {
    throw new Error(`${entry.name} has no separate backbone to load weightsBackbone into; use weights`);
  }
  return entry;
}

const backboneOf = (entry: ModelEntry): string => entry.backboneName ?? entry.backbone!;

type Resolved = { file: string; info?: WeightsInfo } | undefined;

function build(entry: ModelEntry, opts: CreateOptions, weights: Resolved, backbone: Resolved): Module {
  const model = entry.build(opts);
  // an ImageNet classifier's own head is not part of a segmentation backbone: skipping it is expected
  const ignore = { test: (k: string) => /^(fc|classifier|last_linear)\./.test(k), reason: "the classifier's own head (not part of the backbone)" };
  const surprising = (r: LoadReport): boolean => r.skipped.some((s) => s.reason !== ignore.reason) || r.missing.length > 0 || r.adapted.length > 0;
  const report = opts.onLoad ?? ((r: LoadReport) => surprising(r) && process.stderr.write(`${describeLoad(r)}\n`));
  try {
    if (backbone !== undefined) {
      report(loadPretrained(model.getSubmodule(entry.backbone!), backbone.file, { stripPrefix: entry.backbonePrefix, ignore }));
    }
    if (weights !== undefined) {
      report(loadPretrained(model, weights.file));
      entry.afterLoad?.(model, weights);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  infos.set(model, { weights: weights?.info, weightsBackbone: backbone?.info });
  return model;
}
