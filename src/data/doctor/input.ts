// What the data commands accept: a dataset folder, a dataset config (YAML/JSON), a CSV index or
// a split CSV. Folder sources are opened with unmatched files skipped, and the unmatched files
// are listed separately, so the doctor can report them instead of failing on the first one.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readConfigFile, resolveLabelMap, LABEL_MAP_FILES } from '../config-file.js';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { cocoSource, findCocoFiles } from '../sources/coco.js';
import { mergeSources } from '../sources/merge.js';
import type { DatasetSpec } from '../dataset.js';
import type { LabelMapSpec } from '../labelmap.js';
import { datasetConfigSchema, specFromSource, type SourceConfig } from '../sources/index.js';
import { csvSource, findColumn, IMAGE_COLUMNS, MASK_COLUMNS } from '../sources/csv.js';
import { scanFolders, type FolderSourceOptions } from '../sources/folders.js';
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
  /** Why no sample has a mask, when that is so (e.g. a CSV header without a mask column). */
  noMasks?: string;
  /** How the input was understood (layout found, columns used), for the report. */
  notes: string[];
}

export interface InputOptions {
  /** Label map (object or a JSON/YAML file); default: labelmap.json beside the data. */
  labelMap?: LabelMapSpec | string;
  maskMode?: 'ids' | 'rgb';
  /** Folder inputs: the image and mask folders under the root ('{split}' as in configs). */
  images?: string;
  masks?: string;
  /** Folder inputs: mask file name ending when masks sit beside their images ('_mask'). */
  maskSuffix?: string;
  /** CSV inputs: the image and mask columns. */
  imageColumn?: string;
  maskColumn?: string;
  /** Bad files: fail (default) or skip them (--skip-bad). */
  onBadFile?: 'fail' | 'skip';
  maxPixels?: number;
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

export { readConfigFile, LABEL_MAP_FILES };

/** Sets the label map by the one rule: explicit (--label-map), else labelmap.json beside the data. */
function applyLabelMap(spec: DatasetSpec, given: LabelMapSpec | string | undefined, dataDirs: string[]): void {
  const found = resolveLabelMap(given, dataDirs);
  if (!found) return;
  spec.labelMap = found.spec;
  if (found.file) spec.labelMapFile = found.file;
  else delete spec.labelMapFile;
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

/** A COCO instances file given as the input: its images and objects, the images found as cocoSource finds them. */
async function fromCocoFile(path: string, opts: InputOptions): Promise<OpenedInput> {
  const spec = await cocoSource({ annotations: path });
  applyLabelMap(spec, opts.labelMap, [dirname(path)]);
  applyPolicies(spec, opts);
  return { input: path, spec, unmatchedImages: [], unmatchedMasks: [], split: splitFromMeta(spec.refs), notes: [`layout: COCO instances file ${basename(path)}`] };
}

async function fromConfig(path: string, opts: InputOptions): Promise<OpenedInput> {
  let raw = readConfigFile(path) as Record<string, unknown> | null;
  if (raw && Array.isArray(raw.images) && Array.isArray(raw.annotations)) return fromCocoFile(path, opts);
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
  const spec: DatasetSpec = { ...(await specFromSource(skipUnmatched(source, folders, baseDir), baseDir)), ...policies };
  // An explicit --label-map overrides the config's (or the one found beside the data).
  if (opts.labelMap) applyLabelMap(spec, opts.labelMap, []);
  applyPolicies(spec, opts);
  const unmatchedImages: string[] = [];
  const unmatchedMasks: string[] = [];
  const notes: string[] = [];
  for (const f of folders) {
    const u = await scanFolders({ ...f, unmatched: 'skip' });
    unmatchedImages.push(...u.unmatchedImages);
    unmatchedMasks.push(...u.unmatchedMasks);
    notes.push(`layout: ${u.layout}`);
  }
  if (spec.labelMapFile) notes.push(`label map: ${spec.labelMapFile}`);
  return { input: path, spec, unmatchedImages, unmatchedMasks, split: splitFromMeta(spec.refs), notes, ...noMasks(spec, 'no sample of the config has a mask') };
}

function applyPolicies(spec: DatasetSpec, opts: InputOptions): void {
  if (opts.maskMode) spec.maskMode = opts.maskMode;
  if (opts.onBadFile) spec.onBadFile = opts.onBadFile;
  if (opts.maxPixels) spec.maxPixels = opts.maxPixels;
}

function noMasks(spec: DatasetSpec, why: string): { noMasks?: string } {
  const any = spec.refs.some((r) => r.maskPath !== undefined || r.meta?.coco !== undefined);
  return any || spec.refs.length === 0 ? {} : { noMasks: why };
}

async function fromFolder(root: string, opts: InputOptions): Promise<OpenedInput> {
  // COCO: instances JSON files in the folder (or annotations/), no mask images.
  const coco = opts.images === undefined && opts.masks === undefined ? findCocoFiles(root) : [];
  if (coco.length > 0) {
    const parts: Record<string, DatasetSpec> = {};
    for (const c of coco) {
      const spec = await cocoSource({ annotations: c.annotations, imagesDir: c.imagesDir });
      if (c.split) for (const r of spec.refs) r.meta = { ...r.meta, split: c.split };
      parts[c.split ?? basename(c.annotations, '.json')] = spec;
    }
    const spec: DatasetSpec = coco.length === 1 ? Object.values(parts)[0] : mergeSources(parts);
    applyLabelMap(spec, opts.labelMap, [root]);
    applyPolicies(spec, opts);
    const notes = [`layout: COCO (${coco.map((c) => `${relative(root, c.annotations)} with images in ${relative(root, c.imagesDir) || '.'}`).join('; ')})`];
    return { input: root, spec, unmatchedImages: [], unmatchedMasks: [], split: splitFromMeta(spec.refs), notes };
  }
  const scan = await scanFolders({
    root,
    unmatched: 'skip',
    ...(opts.images !== undefined ? { images: opts.images } : {}),
    ...(opts.masks !== undefined ? { masks: opts.masks } : {}),
    ...(opts.maskSuffix !== undefined ? { maskSuffix: opts.maskSuffix } : {}),
  });
  const spec: DatasetSpec = { refs: scan.refs };
  applyLabelMap(spec, opts.labelMap, [root]);
  applyPolicies(spec, opts);
  const notes = [`layout: ${scan.layout}`, ...(spec.labelMapFile ? [`label map: ${spec.labelMapFile}`] : [])];
  return { input: root, spec, unmatchedImages: scan.unmatchedImages, unmatchedMasks: scan.unmatchedMasks, split: splitFromMeta(spec.refs), notes };
}

async function fromCsv(file: string, opts: InputOptions): Promise<OpenedInput> {
  const head = readFileSync(file, 'utf8').split(/\r?\n/, 1)[0];
  const cols = head.split(/[,\t]/).map((c) => c.trim().replace(/^"|"$/g, ''));
  let spec: DatasetSpec;
  let split: Split | undefined;
  const notes: string[] = [];
  let why = 'no row has a mask path';
  if (cols.includes('split') && cols.includes('id')) {
    // A split CSV written by `segkit split`.
    split = readSplitCsv(file);
    spec = { refs: split.names.flatMap((n) => split!.parts[n]) };
    notes.push(`split CSV (${split.names.join(', ')})`);
  } else {
    spec = await csvSource({ file, ...(opts.maskColumn ? { maskColumn: opts.maskColumn } : {}), ...(opts.imageColumn ? { imageColumn: opts.imageColumn } : {}) });
    split = splitFromMeta(spec.refs);
    const mc = opts.maskColumn ?? cols[findColumn(cols, MASK_COLUMNS)];
    if (mc === undefined) why = `the header (${cols.join(', ')}) has no mask column (looked for ${MASK_COLUMNS.join(', ')}); name it with --mask-column <name> (maskColumn in a config)`;
    else notes.push(`columns: image "${opts.imageColumn ?? cols[findColumn(cols, IMAGE_COLUMNS)] ?? '?'}", mask "${mc}"`);
  }
  applyLabelMap(spec, opts.labelMap, [dirname(resolve(file))]);
  applyPolicies(spec, opts);
  if (spec.labelMapFile) notes.push(`label map: ${spec.labelMapFile}`);
  return { input: file, spec, unmatchedImages: [], unmatchedMasks: [], split, notes, ...noMasks(spec, why) };
}

/** Opens a folder, a dataset config (.yaml/.yml/.json), a COCO instances JSON, or a CSV index / split CSV. */
export async function openInput(input: string, opts: InputOptions = {}): Promise<OpenedInput> {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input} does not exist; give a dataset folder, a dataset config (.yaml/.json) or a CSV index`);
  // Messages name the input as the user wrote it.
  if (isDir(path)) return { ...(await fromFolder(path, opts)), input };
  const ext = extname(path).toLowerCase();
  if (['.yaml', '.yml', '.json'].includes(ext)) return { ...(await fromConfig(path, opts)), input };
  if (['.csv', '.tsv', '.txt'].includes(ext)) return { ...(await fromCsv(path, opts)), input };
  throw new Error(`${input}: not a folder, a .yaml/.json config or a .csv index; give one of those`);
}
