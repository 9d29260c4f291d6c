// Dataset configs (YAML/JSON, zod-validated) → a DatasetSpec / SegDataset. Relative paths in a
// config are resolved against `baseDir` (the config file's folder).
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ensureShapes, shapesSource } from '../bundled.js';
import { SegDataset, type DatasetSpec } from '../dataset.js';
import { resolveLabelMap } from '../config-file.js';
import { labelMapSchema, type LabelMapSpec } from '../labelmap.js';
import { cocoSource } from './coco.js';
import { csvSource } from './csv.js';
import { folderSource } from './folders.js';
import { mergeSources } from './merge.js';

export { cocoSource } from './coco.js';
export { csvSource } from './csv.js';
export { folderSource } from './folders.js';
export { mergeSources } from './merge.js';

const common = {
  /** The label map inline, or a JSON/YAML file relative to the config. Default: labelmap.json beside the data. */
  labelMap: z.union([labelMapSchema, z.string()]).optional(),
  maskMode: z.enum(['ids', 'rgb']).optional(),
};

const foldersSchema = z.strictObject({
  type: z.literal('folders'),
  root: z.string(),
  images: z.string().optional(),
  masks: z.string().nullable().optional(),
  splits: z.union([z.array(z.string()), z.boolean()]).optional(),
  subfolders: z.enum(['split', 'session']).optional(),
  imageSuffix: z.string().optional(),
  maskSuffix: z.string().optional(),
  recursive: z.boolean().optional(),
  unmatched: z.enum(['error', 'skip']).optional(),
  ...common,
});
const csvSchema = z.strictObject({
  type: z.literal('csv'),
  file: z.string(),
  delimiter: z.string().length(1).optional(),
  imageColumn: z.string().optional(),
  maskColumn: z.string().optional(),
  idColumn: z.string().optional(),
  root: z.string().optional(),
  ...common,
});
const cocoSchema = z.strictObject({
  type: z.literal('coco'),
  annotations: z.string(),
  imagesDir: z.string().optional(),
  skipEmpty: z.boolean().optional(),
  ...common,
});
const shapesSchema = z.strictObject({
  type: z.literal('shapes'),
  dir: z.string().optional(),
  seed: z.number().int().optional(),
  count: z.number().int().positive().optional(),
  size: z.number().int().min(16).optional(),
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
    z.strictObject({ type: z.literal('merge'), sources: z.record(z.string(), sourceSchema) }),
  ]),
);

/** A dataset config: a source plus decoding policies. */
export const datasetConfigSchema = z.strictObject({
  source: sourceSchema,
  instances: z.boolean().optional(),
  maxPixels: z.number().int().positive().optional(),
  onBadFile: z.enum(['fail', 'skip']).optional(),
  coco: z.strictObject({ overlap: z.enum(['ignore', 'last']).optional(), crowd: z.enum(['ignore', 'label']).optional() }).optional(),
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

/** Validate a dataset config and open it. `where` names the config in errors. */
export async function openDataset(config: unknown, baseDir = '.', where = 'dataset config'): Promise<SegDataset> {
  const r = datasetConfigSchema.safeParse(config);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${where}:\n${lines.join('\n')}`);
  }
  const { source, ...policies } = r.data;
  const spec = await specFromSource(source, baseDir);
  return new SegDataset({ ...spec, ...policies });
}
