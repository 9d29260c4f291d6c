// Pretrained weights described as torchvision describes them: for each builder (resnet50,
// deeplabv3_resnet101, ...) its weight names, the official URL and file name (with the SHA-256
// prefix torch.hub checks), categories, preprocessing, parameter count and reference metrics.
// The data lives in weights-meta.json, written by scripts/gen-weights-meta.py from torchvision's
// own enums (a test re-runs it and compares); this file only reads and types it.
import { readFileSync } from 'node:fs';

/** The builders that have torchvision weights; `weightsInfo` also takes any string (configs pass strings). */
export const WEIGHTS_BUILDERS = [
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'mobilenet_v2',
  'mobilenet_v3_large',
  'fcn_resnet50',
  'fcn_resnet101',
  'deeplabv3_resnet50',
  'deeplabv3_resnet101',
  'deeplabv3_mobilenet_v3_large',
  'lraspp_mobilenet_v3_large',
  'maskrcnn_resnet50_fpn',
  'maskrcnn_resnet50_fpn_v2',
] as const;
export type WeightsBuilder = (typeof WEIGHTS_BUILDERS)[number];

/** torchvision's preset transform for the weights: resize (then centre-crop), scale to [0, 1], normalise. */
export interface WeightsPreprocessing {
  /**
   * torchvision's transform class: ImageClassification (resize, centre crop), SemanticSegmentation
   * (resize only) or ObjectDetection (scale to [0, 1] only: mean 0, std 1; the detector resizes
   * and normalizes inside its own transform).
   */
  preset: 'ImageClassification' | 'SemanticSegmentation' | 'ObjectDetection';
  /** The shorter side is resized to this (as torchvision's `resize_size`); null: no resize. */
  resizeSize: number[] | null;
  /** ImageClassification only: centre crop to this size after the resize. */
  cropSize?: number[];
  /** torchvision's InterpolationMode value, e.g. 'bilinear'. */
  interpolation: string;
  /** Per-channel mean and std (RGB) applied to values in [0, 1]. */
  mean: number[];
  std: number[];
}

export interface WeightsInfo {
  builder: string;
  /** torchvision's enum member name, e.g. 'IMAGENET1K_V2' (never 'DEFAULT': that is resolved). */
  name: string;
  /** torchvision's enum class, e.g. 'ResNet50_Weights'. */
  enumName: string;
  /** True for the weights torchvision's DEFAULT points at. */
  isDefault: boolean;
  /** The official download URL. */
  url: string;
  /** The file name torch.hub caches it under (the URL's last part), e.g. 'resnet50-11ad3fa6.pth'. */
  fileName: string;
  /** The start of the file's SHA-256 that its name carries, as torch.hub's check_hash reads it. */
  hashPrefix: string;
  /** Class names in output order (index 0 first). */
  categories: readonly string[];
  numClasses: number;
  preprocessing: WeightsPreprocessing;
  numParams: number;
  /** Smallest input (height, width) the model accepts. */
  minSize: [number, number];
  /** Reference metrics by dataset, e.g. { 'ImageNet-1K': { 'acc@1': 80.858, 'acc@5': 95.434 } } or { miou, pixel_acc }. */
  metrics: Record<string, Record<string, number>>;
  /** Where the training recipe is described. */
  recipe: string;
  /** torchvision's one-line description of the weights. */
  docs: string;
}

interface MetaWeights extends Omit<WeightsInfo, 'builder' | 'name' | 'enumName' | 'isDefault' | 'categories' | 'numClasses'> {
  categories: string;
}
interface MetaBuilder {
  enum: string;
  default: string;
  weightsBackbone?: { builder: string; default: string };
  weights: Record<string, MetaWeights>;
}
interface MetaFile {
  torchvision: string;
  categories: Record<string, string[]>;
  builders: Record<string, MetaBuilder>;
}

const META_FILE = new URL('./weights-meta.json', import.meta.url);
let meta: MetaFile | undefined;
function load(): MetaFile {
  if (meta === undefined) {
    try {
      meta = JSON.parse(readFileSync(META_FILE, 'utf8')) as MetaFile;
    } catch (e) {
      throw new Error(`cannot read the weights table ${META_FILE.pathname}: ${(e as Error).message}; rebuild segkit (npm run build) or regenerate it with /usr/bin/python3 scripts/gen-weights-meta.py`);
    }
  }
  return meta;
}

/** The torchvision version the table was generated from. */
export function weightsMetaVersion(): string {
  return load().torchvision;
}

function builderEntry(builder: string): MetaBuilder {
  const entry = load().builders[builder];
  if (entry === undefined) {
    throw new Error(`no pretrained weights are known for builder "${builder}"; builders with weights: ${Object.keys(load().builders).join(', ')}`);
  }
  return entry;
}

function info(builder: string, name: string, entry: MetaBuilder): WeightsInfo {
  const w = entry.weights[name];
  const categories = load().categories[w.categories];
  return {
    builder,
    name,
    enumName: entry.enum,
    isDefault: name === entry.default,
    url: w.url,
    fileName: w.fileName,
    hashPrefix: w.hashPrefix,
    categories,
    numClasses: categories.length,
    preprocessing: w.preprocessing,
    numParams: w.numParams,
    minSize: w.minSize,
    metrics: w.metrics,
    recipe: w.recipe,
    docs: w.docs,
  };
}

/**
 * The enum member a weight name means for `builder`, or undefined when it names none: 'DEFAULT',
 * a member name ('IMAGENET1K_V1') or torchvision's qualified form ('ResNet50_Weights.IMAGENET1K_V1').
 */
export function weightsName(builder: WeightsBuilder | (string & {}), name: string): string | undefined {
  const entry = load().builders[builder];
  if (entry === undefined) return undefined; // a builder without published weights (a path is all it takes)
  const bare = name.startsWith(`${entry.enum}.`) ? name.slice(entry.enum.length + 1) : name;
  if (bare === 'DEFAULT') return entry.default;
  return Object.hasOwn(entry.weights, bare) ? bare : undefined;
}

/** The names `builder` accepts, DEFAULT first. */
export function weightsNames(builder: WeightsBuilder | (string & {})): string[] {
  return ['DEFAULT', ...Object.keys(builderEntry(builder).weights)];
}

/** What torchvision says about `builder`'s weights `name` ('DEFAULT' resolves). Unknown names throw, listing the valid ones. */
export function weightsInfo(builder: WeightsBuilder | (string & {}), name: string): WeightsInfo {
  const entry = builderEntry(builder);
  const resolved = weightsName(builder, name);
  if (resolved === undefined) {
    throw new Error(`${builder} has no weights named "${name}"; valid names: ${weightsNames(builder).join(', ')} (or a path to a .pth/.pt/.safetensors file)`);
  }
  return info(builder, resolved, entry);
}

/** Every weights entry of `builder`, in torchvision's order; the DEFAULT one has isDefault. */
export function listWeights(builder: WeightsBuilder | (string & {})): WeightsInfo[] {
  const entry = builderEntry(builder);
  return Object.keys(entry.weights).map((name) => info(builder, name, entry));
}

/**
 * The weights a segmentation builder loads into its backbone by default (torchvision's
 * `weights_backbone` default, e.g. resnet50 IMAGENET1K_V1); undefined for classification builders.
 */
export function defaultBackboneWeights(builder: WeightsBuilder | (string & {})): { builder: string; name: string } | undefined {
  const b = builderEntry(builder).weightsBackbone;
  return b === undefined ? undefined : { builder: b.builder, name: b.default };
}
