// Reading JSON/YAML config files, and the one rule that finds a dataset's label map:
// an explicit one (an object, or a file path) wins, else `labelmap.json` (or .yaml/.yml)
// beside the data. The API (`openDataset`), dataset configs and the CLI all go through
// `resolveLabelMap`, so the same folder gives the same train ids everywhere.
import { existsSync, readFileSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseLabelMap, type LabelMapSpec } from './labelmap.js';

/** Files a dataset folder may carry its label map in, in the order they are looked for. */
export const LABEL_MAP_FILES = ['labelmap.json', 'labelmap.yaml', 'labelmap.yml'];

/** Reads a JSON or YAML file (by extension; YAML also reads JSON). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: cannot parse (${(e as Error).message.split('\n')[0]}); check the ${extname(path) === '.json' ? 'JSON' : 'YAML'} syntax`);
  }
}

/** A label map file, validated; errors name the file. */
export function readLabelMapFile(path: string): LabelMapSpec {
  return parseLabelMap(readConfigFile(path), path);
}

/** The label-map file beside the data in `dir`, if there is one. */
export function labelMapFileIn(dir: string): string | undefined {
  return LABEL_MAP_FILES.map((f) => join(dir, f)).find((p) => existsSync(p));
}

export interface ResolvedLabelMap {
  spec: LabelMapSpec;
  /** The file it was read from (absent for an inline object). */
  file?: string;
}

/**
 * The label map of a dataset: `given` (an object, or a JSON/YAML path relative to `baseDir`)
 * when there is one, else the first `labelmap.json`/.yaml/.yml in `dataDirs` (the folders the
 * data lives in: a folder dataset's root, a CSV index's folder, a COCO file's folder).
 */
export function resolveLabelMap(given: LabelMapSpec | string | undefined, dataDirs: string[], baseDir = '.'): ResolvedLabelMap | undefined {
  if (typeof given === 'string') {
    const file = isAbsolute(given) ? given : resolve(baseDir, given);
    return { spec: readLabelMapFile(file), file };
  }
  if (given) return { spec: parseLabelMap(given) };
  for (const dir of dataDirs) {
    const file = labelMapFileIn(dir);
    if (file) return { spec: readLabelMapFile(file), file };
  }
  return undefined;
}
