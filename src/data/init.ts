// Setting a dataset up from what it contains: the layout found in its folders (or the CSV
// columns), the encoding found in its masks, and from those a label map and a dataset config
// for the user to edit. What `segkit labelmap` and `segkit init` write.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { FolderSourceOptions } from './sources/folders.js';
import { labelMapFileIn } from './config-file.js';
import { openInput, type InputOptions } from './doctor/input.js';
import { detectEncoding, hintFromNotes, scanMasks, type Encoding } from './encodings.js';
import type { LabelMapSpec } from './labelmap.js';
import { findCocoFiles, type FoundCoco } from './sources/coco.js';
import { findColumn, MASK_COLUMNS } from './sources/csv.js';
import { scanFolders } from './sources/folders.js';

export interface DatasetPlan {
  /** The folder the data lives in: a folder dataset's root, a CSV index's folder. */
  dataDir: string;
  /** What the masks hold. */
  encoding: Encoding;
  /** The label map to write (from the encoding). */
  labelMap?: LabelMapSpec;
  /** A label map already beside the data, if any. */
  existingLabelMap?: string;
  /** The dataset config (source relative to dataDir), for folder and CSV inputs. */
  config?: Record<string, unknown>;
  /** How the input was understood. */
  notes: string[];
}

/** Reads a dataset folder or CSV index (or config) and plans its label map and config. */
export async function planDataset(input: string, opts: InputOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<DatasetPlan> {
  const path = resolve(input);
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const { labelMap: _ignored, ...rest } = opts;
  const opened = await openInput(input, rest);
  const spec = opened.spec;
  const coco = isDir && opts.images === undefined && opts.masks === undefined ? findCocoFiles(path) : [];
  if (coco.length > 0) return planCoco(path, coco, spec, opened.notes);
  if (!spec.refs.some((r) => r.maskPath)) {
    throw new Error(`${input}: no sample has a mask${opened.noMasks ? `: ${opened.noMasks}` : ''}; a label map is made from the masks`);
  }
  const encoding = detectEncoding(await scanMasks(spec.refs, { ...(spec.maxPixels ? { maxPixels: spec.maxPixels } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }), hintFromNotes(opened.notes));
  if (encoding.kind === 'none') throw new Error(`${input}: no mask could be read; run segkit doctor ${input} to see why`);
  const ext = extname(path).toLowerCase();
  const dataDir = isDir ? path : ['.csv', '.tsv', '.txt'].includes(ext) ? dirname(path) : dataDirOfConfig(spec.refs[0]?.maskPath, path);
  const rgb = encoding.kind === 'rgb' || encoding.kind === 'rgb-voc';
  let source: Record<string, unknown> | undefined;
  if (isDir) {
    const scan = await scanFolders({
      root: path,
      unmatched: 'skip',
      ...(opts.images !== undefined ? { images: opts.images } : {}),
      ...(opts.masks !== undefined ? { masks: opts.masks } : {}),
      ...(opts.maskSuffix !== undefined ? { maskSuffix: opts.maskSuffix } : {}),
    });
    const { root: _r, unmatched, ...o }: FolderSourceOptions = scan.options;
    const out: Omit<FolderSourceOptions, 'root'> = o;
    // Unmatched files are skipped for the scan; only VOC's layout skips them by design.
    if (unmatched === 'skip' && scan.layout.startsWith('Pascal VOC')) out.unmatched = unmatched;
    source = { type: 'folders', root: '.', ...out };
  } else if (['.csv', '.tsv', '.txt'].includes(ext)) {
    const head = (await import('node:fs')).readFileSync(path, 'utf8').split(/\r?\n/, 1)[0].split(/[,\t]/).map((c) => c.trim());
    const mc = opts.maskColumn ?? head[findColumn(head, MASK_COLUMNS)];
    source = { type: 'csv', file: basename(path), ...(mc && mc !== 'mask' ? { maskColumn: mc } : {}), ...(opts.imageColumn ? { imageColumn: opts.imageColumn } : {}) };
  }
  const config = source
    ? { source: { ...source, labelMap: 'labelmap.json', ...(rgb ? { maskMode: 'rgb' } : {}) }, ...(opts.onBadFile ? { onBadFile: opts.onBadFile } : {}) }
    : undefined;
  const existing = labelMapFileIn(dataDir);
  return { dataDir, encoding, ...(encoding.labelMap ? { labelMap: encoding.labelMap } : {}), ...(existing ? { existingLabelMap: existing } : {}), ...(config ? { config } : {}), notes: opened.notes };
}

// COCO: the classes come from the categories; the config names the JSON file(s).
function planCoco(root: string, coco: FoundCoco[], spec: { labelMap?: LabelMapSpec; refs: unknown[] }, notes: string[]): DatasetPlan {
  const classes = spec.labelMap?.classes ?? [];
  const one = (c: FoundCoco) => ({ type: 'coco', annotations: relative(root, c.annotations), ...(c.imagesDir !== dirname(c.annotations) ? { imagesDir: relative(root, c.imagesDir) || '.' } : {}) });
  const source =
    coco.length === 1
      ? { ...one(coco[0]), labelMap: 'labelmap.json' }
      : { type: 'merge', sources: Object.fromEntries(coco.map((c) => [c.split ?? basename(c.annotations, '.json'), { ...one(c), labelMap: 'labelmap.json' }])) };
  const encoding: Encoding = {
    kind: 'coco',
    summary: `COCO instances: ${classes.length - 1} categories (${classes.slice(1, 9).join(', ')}${classes.length > 9 ? ', ...' : ''}) drawn into masks, 0 background`,
    labelMap: { classes, ignoreIndex: 255 },
    usableAsIs: true,
  };
  const existing = labelMapFileIn(root);
  return { dataDir: root, encoding, labelMap: encoding.labelMap!, ...(existing ? { existingLabelMap: existing } : {}), config: { source }, notes };
}

// A config input: the label map goes beside the data; take the mask folder's parent.
function dataDirOfConfig(mask: string | undefined, config: string): string {
  return mask ? dirname(dirname(mask)) : dirname(config);
}

/** The dataset config as YAML, with a comment saying where it came from. */
export function datasetConfigYaml(config: Record<string, unknown>, header: string[] = []): string {
  return [...header.map((h) => `# ${h}`), toYaml(config)].join('\n');
}
