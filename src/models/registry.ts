// One registry of model builders by their reference names (torchvision's builder names, smp's
// architecture + encoder), so configs and the CLI can say `deeplabv3_resnet101` or
// `unet_resnet34` and get the same model as the typed builders.
//
//   const model = models.create('deeplabv3_resnet101', { numClasses: 4, auxLoss: true });
import type { Module } from '../nn/index.js';
import { describeLoad, loadPretrained, type LoadReport } from './pretrained.js';
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

export type ModelKind = 'semantic' | 'classification';

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
  const e = entries.get(name) ?? entries.get(name.toLowerCase().replace(/-/g, '_'));
  if (e === undefined) {
    const near = [...entries.keys()].filter((k) => k.includes(name.toLowerCase().split(/[_-]/)[0]));
    throw new Error(`unknown model '${name}'${near.length ? `; did you mean ${near.slice(0, 4).map((n) => `'${n}'`).join(', ')}?` : ''} Models: ${[...entries.keys()].join(', ')}`);
  }
  return e;
}

/** Weight resolution (names → files); set by the weights module so this file needs no network code. */
let resolveWeightFile: (builder: string, nameOrPath: string) => string = (_b, p) => p;
export function setWeightResolver(fn: (builder: string, nameOrPath: string) => string): void {
  resolveWeightFile = fn;
}

const COMMON = new Set(['numClasses', 'inChannels', 'auxLoss', 'weights', 'weightsBackbone', 'onLoad']);

/** Builds a registered model by name, loading `weights` / `weightsBackbone` when given. */
export function create(name: string, opts: CreateOptions = {}): Module {
  const entry = modelEntry(name);
  const unknown = Object.keys(opts).filter((k) => !COMMON.has(k) && !(entry.extraOptions ?? []).includes(k) && opts[k] !== undefined);
  if (unknown.length > 0) {
    throw new Error(`${entry.name}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; it takes ${[...COMMON, ...(entry.extraOptions ?? [])].join(', ')}`);
  }
  const model = entry.build(opts);
  const report = opts.onLoad ?? ((r: LoadReport) => (r.skipped.length || r.missing.length || r.adapted.length) && process.stderr.write(`${describeLoad(r)}\n`));
  try {
    if (opts.weightsBackbone !== undefined) {
      if (entry.backbone === undefined) throw new Error(`${entry.name} has no separate backbone to load weightsBackbone into; use weights`);
      const file = resolveWeightFile(entry.backboneName ?? entry.backbone, opts.weightsBackbone);
      // an ImageNet classifier's own head is not part of a segmentation backbone
      report(loadPretrained(model.getSubmodule(entry.backbone), file, { stripPrefix: entry.backbonePrefix, ignore: { test: (k) => /^(fc|classifier|last_linear)\./.test(k), reason: "the classifier's own head (not part of the backbone)" } }));
    }
    if (opts.weights !== undefined) report(loadPretrained(model, resolveWeightFile(entry.name, opts.weights)));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
