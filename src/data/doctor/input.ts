// What the data commands accept: a dataset folder, a dataset config (YAML/JSON), a CSV index or
// a split CSV. Folder sources are opened with unmatched files skipped, and the unmatched files
// are listed separately, so the doctor can report them instead of failing on the first one.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DatasetSpec } from '../dataset.js';
import { parseLabelMap, type LabelMapSpec } from '../labelmap.js';
import { datasetConfigSchema, specFromSource, type SourceConfig } from '../sources/index.js';
import { csvSource } from '../sources/csv.js';
import { folderSource, keyOf, listFiles, IMAGE_DIRS, MASK_DIRS, type FolderSourceOptions } from '../sources/folders.js';
import { readSplitCsv, type Split } from '../splits.js';
import type { SampleRef } from '../types.js';

export interface OpenedInput {
  /** What the user passed, for messages. */
  input: string;
  spec: DatasetSpec;
  /** Images with no mask and masks with no image, found by folder sources. */
  unmatchedImages: string[];
  unmatchedMasks: string[];
  /** A split the input carries: split folders, a `split` CSV column, or a split CSV. */
  split?: Split;
}

export interface InputOptions {
  /** Label map (object or a JSON/YAML file) for folder and CSV inputs without one. */
  labelMap?: LabelMapSpec | string;
  maskMode?: 'ids' | 'rgb';
}

/** Files a folder dataset may carry its label map in. */
export const LABEL_MAP_FILES = ['labelmap.json', 'labelmap.yaml', 'labelmap.yml'];

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** Reads a JSON or YAML file (by extension; YAML also reads JSON). */
export function readConfigFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: cannot parse (${(e as Error).message.split('\n')[0]}); check the ${extname(path) === '.json' ? 'JSON' : 'YAML'} syntax`);
  }
}

function loadLabelMap(given: LabelMapSpec | string | undefined, folder?: string): LabelMapSpec | undefined {
  if (typeof given === 'string') return parseLabelMap(readConfigFile(given), given);
  if (given) return parseLabelMap(given);
  if (!folder) return undefined;
  for (const f of LABEL_MAP_FILES) if (existsSync(join(folder, f))) return parseLabelMap(readConfigFile(join(folder, f)), join(folder, f));
  return undefined;
}


function pickDir(base: string, given: string | null | undefined, defaults: string[]): string | undefined {
  if (given === null) return undefined;
  if (given !== undefined) return isDir(resolve(base, given)) ? resolve(base, given) : undefined;
  return defaults.map((d) => join(base, d)).find(isDir);
}

/** Files of a folder source that no sample uses: images without masks, masks without images. */
export async function unmatchedFiles(opts: FolderSourceOptions, refs: SampleRef[]): Promise<{ images: string[]; masks: string[] }> {
  const root = resolve(opts.root);
  let bases = [root];
  if (opts.splits === true) bases = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(root, e.name)).filter((b) => pickDir(b, opts.images, IMAGE_DIRS));
  else if (Array.isArray(opts.splits)) bases = opts.splits.map((s) => join(root, s));
  const usedImages = new Set(refs.map((r) => resolve(r.imagePath)));
  const usedMasks = new Set(refs.flatMap((r) => (r.maskPath ? [resolve(r.maskPath)] : [])));
  const images: string[] = [];
  const masks: string[] = [];
  const recursive = opts.recursive ?? true;
  for (const base of bases) {
    const imgDir = pickDir(base, opts.images, IMAGE_DIRS);
    const maskDir = pickDir(base, opts.masks, MASK_DIRS);
    if (!imgDir || !maskDir) continue;
    for (const f of await listFiles(imgDir, recursive)) if (keyOf(f, imgDir, opts.imageSuffix) !== undefined && !usedImages.has(f)) images.push(f);
    for (const f of await listFiles(maskDir, recursive)) if (keyOf(f, maskDir, opts.maskSuffix) !== undefined && !usedMasks.has(f)) masks.push(f);
  }
  return { images: images.sort(), masks: masks.sort() };
}

/** A split from refs' `meta.split` (split folders, a split column), or undefined. */
export function splitFromMeta(refs: SampleRef[]): Split | undefined {
  if (refs.length === 0 || !refs.every((r) => r.meta?.split)) return undefined;
  const names: string[] = [];
  const parts: Record<string, SampleRef[]> = {};
  for (const r of refs) {
    const s = r.meta!.split;
    if (!parts[s]) (parts[s] = []), names.push(s);
    parts[s].push(r);
  }
  return { names, parts };
}

// Every folders node of a source config, with unmatched files skipped instead of fatal.
function skipUnmatched(cfg: SourceConfig, found: FolderSourceOptions[], baseDir: string): SourceConfig {
  if (cfg.type === 'folders') {
    const { type: _t, labelMap: _l, maskMode: _m, ...o } = cfg;
    found.push({ ...o, root: isAbsolute(o.root) ? o.root : resolve(baseDir, o.root) });
    return { ...cfg, unmatched: 'skip' };
  }
  if (cfg.type === 'merge') {
    return { type: 'merge', sources: Object.fromEntries(Object.entries(cfg.sources).map(([k, v]) => [k, skipUnmatched(v, found, baseDir)])) };
  }
  return cfg;
}

async function fromConfig(path: string, opts: InputOptions): Promise<OpenedInput> {
  let raw = readConfigFile(path) as Record<string, unknown> | null;
  // A training config may nest the dataset under `dataset` or `data`.
  for (const key of ['dataset', 'data']) {
    const inner = raw?.[key] as Record<string, unknown> | undefined;
    if (raw && !('source' in raw) && inner && typeof inner === 'object' && 'source' in inner) raw = inner;
  }
  const r = datasetConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid dataset config ${path}:\n${lines.join('\n')}\n(a dataset config has a \`source\`, e.g. { source: { type: folders, root: data/ } })`);
  }
  const baseDir = dirname(resolve(path));
  const folders: FolderSourceOptions[] = [];
  const { source, ...policies } = r.data;
  const spec = { ...(await specFromSource(skipUnmatched(source, folders, baseDir), baseDir)), ...policies };
  if (!spec.labelMap && opts.labelMap) spec.labelMap = loadLabelMap(opts.labelMap);
  if (opts.maskMode) spec.maskMode = opts.maskMode;
  const unmatchedImages: string[] = [];
  const unmatchedMasks: string[] = [];
  for (const f of folders) {
    const u = await unmatchedFiles(f, spec.refs);
    unmatchedImages.push(...u.images);
    unmatchedMasks.push(...u.masks);
  }
  return { input: path, spec, unmatchedImages, unmatchedMasks, split: splitFromMeta(spec.refs) };
}

async function fromFolder(root: string, opts: InputOptions): Promise<OpenedInput> {
  const fopts: FolderSourceOptions = { root, unmatched: 'skip' };
  // No image folder at the top: split folders (train/images, val/images, ...).
  if (!pickDir(root, undefined, IMAGE_DIRS)) fopts.splits = true;
  const spec = await folderSource(fopts);
  const labelMap = loadLabelMap(opts.labelMap, root);
  if (labelMap) spec.labelMap = labelMap;
  if (opts.maskMode) spec.maskMode = opts.maskMode;
  const u = await unmatchedFiles(fopts, spec.refs);
  return { input: root, spec, unmatchedImages: u.images, unmatchedMasks: u.masks, split: splitFromMeta(spec.refs) };
}

async function fromCsv(file: string, opts: InputOptions): Promise<OpenedInput> {
  const head = readFileSync(file, 'utf8').split(/\r?\n/, 1)[0];
  const cols = head.split(/[,\t]/).map((c) => c.trim().replace(/^"|"$/g, ''));
  let spec: DatasetSpec;
  let split: Split | undefined;
  if (cols.includes('split') && cols.includes('id')) {
    // A split CSV written by `segkit split`.
    split = readSplitCsv(file);
    spec = { refs: split.names.flatMap((n) => split!.parts[n]) };
  } else {
    spec = await csvSource({ file });
    split = splitFromMeta(spec.refs);
  }
  const labelMap = loadLabelMap(opts.labelMap, dirname(resolve(file)));
  if (labelMap) spec.labelMap = labelMap;
  if (opts.maskMode) spec.maskMode = opts.maskMode;
  return { input: file, spec, unmatchedImages: [], unmatchedMasks: [], split };
}

/** Opens a folder, a dataset config (.yaml/.yml/.json) or a CSV index / split CSV. */
export async function openInput(input: string, opts: InputOptions = {}): Promise<OpenedInput> {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input} does not exist; give a dataset folder, a dataset config (.yaml/.json) or a CSV index`);
  if (isDir(path)) return fromFolder(path, opts);
  const ext = extname(path).toLowerCase();
  if (['.yaml', '.yml', '.json'].includes(ext)) return fromConfig(path, opts);
  if (['.csv', '.tsv', '.txt'].includes(ext)) return fromCsv(path, opts);
  throw new Error(`${input}: not a folder, a .yaml/.json config or a .csv index; give one of those`);
}
