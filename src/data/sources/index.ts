// Dataset configs (YAML/JSON, zod-validated) → a DatasetSpec / SegDataset. Relative paths in a
// config are resolved against `baseDir` (the config file's folder).
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ensureShapes, shapesSource } from '../bundled.js';
import { SegDataset, type DatasetSpec } from '../dataset.js';
import { readConfigFile, resolveLabelMap } from '../config-file.js';
import { labelMapSchema, type LabelMapSpec } from '../labelmap.js';
import { cocoSource, findCocoFiles } from './coco.js';
import { csvSource } from './csv.js';
import { folderSource } from './folders.js';
import { mergeSources } from './merge.js';

export { cocoSource } from './coco.js';
export { csvSource } from './csv.js';
export { folderSource } from './folders.js';
export { mergeSources } from './merge.js';

const common = {
  labelMap: z.union([labelMapSchema, z.string()]).optional().describe('the label map inline, or a JSON/YAML file relative to the config; default: labelmap.json beside the data'),
  maskMode: z.enum(['ids', 'rgb']).optional().describe("'ids': masks hold gray values or palette indices (default); 'rgb': colour masks (default when the label map has `colors`)"),
};

export const foldersSchema = z.strictObject({
  type: z.literal('folders'),
  root: z.string().describe('dataset folder, relative to the config'),
  images: z.string().optional().describe("image folder under the root (or under each split folder); '{split}' stands for the split name ('{split}' for SegNet); '.' when images and masks share a folder. Default: found from the layout"),
  masks: z.string().nullable().optional().describe("mask folder likewise ('{split}annot' for SegNet); null for images without masks. Default: found from the layout"),
  splits: z.union([z.array(z.string()), z.boolean()]).optional().describe('split or session folders: a list, or true for every subfolder holding the image folder'),
  subfolders: z.enum(['split', 'session']).optional().describe('what those folders are: splits (meta.split) or recording sessions (meta.session); default from their names'),
  imageSuffix: z.string().optional().describe("end of image names stripped for matching, e.g. '_leftImg8bit'"),
  maskSuffix: z.string().optional().describe("end of mask names, e.g. '_gtFine_labelIds' or '_mask'; files without it are not masks"),
  recursive: z.boolean().optional().describe('look into subfolders (default true)'),
  unmatched: z.enum(['error', 'skip']).optional().describe("an image without mask or a mask without image: 'error' (default) or 'skip'"),
  ...common,
});
export const csvSchema = z.strictObject({
  type: z.literal('csv'),
  file: z.string().describe('the index (.csv, .tsv; .txt for SegNet-style "image mask" lines), relative to the config'),
  delimiter: z.string().length(1).optional().describe('field separator; default tab for .tsv or a header with tabs, else comma'),
  imageColumn: z.string().optional().describe('image column; default the first of image, images, img, image_path, path, ...'),
  maskColumn: z.string().optional().describe('mask column; default the first of mask, label, annotation, gt, target, ...; none: images only'),
  idColumn: z.string().optional().describe('sample id column; default the image path without extension'),
  root: z.string().optional().describe("folder the paths are relative to; default the index file's folder"),
  ...common,
});
export const cocoSchema = z.strictObject({
  type: z.literal('coco'),
  annotations: z.string().describe('the COCO instances JSON, relative to the config'),
  imagesDir: z.string().optional().describe("folder of the images; default the JSON's folder"),
  skipEmpty: z.boolean().optional().describe('leave out images without annotations'),
  ...common,
});
export const shapesSchema = z.strictObject({
  type: z.literal('shapes'),
  dir: z.string().optional().describe('where the bundled shapes dataset is (generated when missing); default data/shapes'),
  seed: z.number().int().optional().describe('generator seed'),
  count: z.number().int().positive().optional().describe('number of images'),
  size: z.number().int().min(16).optional().describe('image side in pixels'),
});

export const mergeSchema = z.strictObject({
  type: z.literal('merge'),
  sources: z.record(z.string(), z.lazy(() => sourceSchema)).describe('named sources (ids get the name as prefix); they must agree on the class list'),
});

export type SourceConfig =
  | z.infer<typeof foldersSchema>
  | z.infer<typeof csvSchema>
  | z.infer<typeof cocoSchema>
  | z.infer<typeof shapesSchema>
  | { type: 'merge'; sources: Record<string, SourceConfig> };

export const sourceSchema: z.ZodType<SourceConfig> = z.lazy(() =>
  z.discriminatedUnion('type', [
    foldersSchema,
    csvSchema,
    cocoSchema,
    shapesSchema,
    mergeSchema,
  ]),
);

/** A dataset config: a source plus decoding policies. */
export const datasetConfigSchema = z.strictObject({
  source: sourceSchema.describe('where the samples come from: one of the source types below'),
  instances: z.boolean().optional().describe('decode per-instance targets (COCO sources); default false'),
  maxPixels: z.number().int().positive().optional().describe('refuse images above this many pixels, checked from the header; default 268402689'),
  onBadFile: z.enum(['fail', 'skip']).optional().describe("corrupt, truncated or misnamed files: stop ('fail', default) or skip and count them (loader, stats, preview, doctor)"),
  coco: z
    .strictObject({
      overlap: z.enum(['ignore', 'last']).optional().describe('pixels of two instances: ignore index (default) or the last drawn'),
      crowd: z.enum(['ignore', 'label']).optional().describe('crowd regions: ignore index (default) or their class'),
    })
    .optional()
    .describe('how COCO instances become a semantic mask'),
});
export type DatasetConfig = z.infer<typeof datasetConfigSchema>;

/** Build the spec of one source config. */
export async function specFromSource(cfg: SourceConfig, baseDir = '.'): Promise<DatasetSpec> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  let spec: DatasetSpec;
  let labelMap: LabelMapSpec | string | undefined, maskMode: 'ids' | 'rgb' | undefined;
  let dataDirs: string[] = [];
  switch (cfg.type) {
    case 'folders': {
      const { type: _t, labelMap: lm, maskMode: mm, ...o } = cfg;
      spec = await folderSource({ ...o, root: at(o.root) });
      (labelMap = lm), (maskMode = mm), (dataDirs = [at(o.root)]);
      break;
    }
    case 'csv': {
      const { type: _t, labelMap: lm, maskMode: mm, ...o } = cfg;
      spec = await csvSource({ ...o, file: at(o.file), root: o.root ? at(o.root) : undefined });
      (labelMap = lm), (maskMode = mm), (dataDirs = [dirname(at(o.file)), ...(o.root ? [at(o.root)] : [])]);
      break;
    }
    case 'coco': {
      const { type: _t, labelMap: lm, maskMode: mm, ...o } = cfg;
      spec = await cocoSource({ ...o, annotations: at(o.annotations), imagesDir: o.imagesDir ? at(o.imagesDir) : undefined });
      (labelMap = lm), (maskMode = mm), (dataDirs = [dirname(at(o.annotations))]);
      break;
    }
    case 'shapes': {
      const dir = await ensureShapes({ ...cfg, dir: at(cfg.dir ?? 'data/shapes') });
      spec = await shapesSource(dir);
      break;
    }
    case 'merge': {
      const parts: Record<string, DatasetSpec> = {};
      for (const [name, sub] of Object.entries(cfg.sources)) parts[name] = await specFromSource(sub, baseDir);
      return mergeSources(parts);
    }
  }
  // One rule with the CLI: the config's label map, else labelmap.json beside the data.
  const found = resolveLabelMap(labelMap, dataDirs, baseDir);
  return {
    ...spec,
    ...(found ? { labelMap: found.spec, ...(found.file ? { labelMapFile: found.file } : {}) } : {}),
    ...(maskMode ? { maskMode } : {}),
  };
}

/**
 * Open a dataset: a dataset config object (relative paths against `baseDir`), or a path, as the
 * CLI takes it: a dataset folder (layout found as `segkit doctor` finds it; a folder of COCO
 * instances JSON opens as COCO), a dataset config file (.yaml/.yml/.json, paths relative to it)
 * or a CSV index. The label map follows the one rule either way.
 */
export async function openDataset(config: unknown, baseDir = '.', where = 'dataset config'): Promise<SegDataset> {
  if (typeof config === 'string') {
    const path = resolve(baseDir, config);
    if (!existsSync(path)) throw new Error(`${path} does not exist; give a dataset folder, a dataset config (.yaml/.json) or a CSV index`);
    const ext = extname(path).toLowerCase();
    if (statSync(path).isDirectory()) {
      const coco = findCocoFiles(path);
      if (coco.length === 1) return openDataset({ source: { type: 'coco', annotations: coco[0].annotations, imagesDir: coco[0].imagesDir } }, baseDir, path);
      return openDataset({ source: { type: 'folders', root: path } }, baseDir, path);
    }
    if (['.yaml', '.yml', '.json'].includes(ext)) {
      let raw = readConfigFile(path) as Record<string, unknown> | null;
      // A training config may nest the dataset under `dataset` or `data`.
      for (const key of ['dataset', 'data']) {
        const inner = raw?.[key] as Record<string, unknown> | undefined;
        if (raw && !('source' in raw) && inner && typeof inner === 'object' && 'source' in inner) raw = inner;
      }
      return openDataset(raw, dirname(path), `dataset config ${path}`);
    }
    if (['.csv', '.tsv', '.txt'].includes(ext)) return openDataset({ source: { type: 'csv', file: path } }, baseDir, path);
    throw new Error(`${path}: not a folder, a .yaml/.json config or a .csv index; give one of those`);
  }
  const r = datasetConfigSchema.safeParse(config);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${where}:\n${lines.join('\n')}`);
  }
  const { source, ...policies } = r.data;
  const spec = await specFromSource(source, baseDir);
  return new SegDataset({ ...spec, ...policies });
}
