// Presets: the seed reports' training set-ups as config files (configs/presets/*.yaml, shipped
// with the package) that need only the user's data path:
//
//   segkit train --preset deeplabv3-r101-focal-dice --data path/to/dataset
//   segkit presets                                   # one line each
//
// Each file starts with a comment: its first line `# name: summary`, then which seed report it
// reproduces, what it sets and what the report left open. A preset is a plain train config
// without data.path, so everything `--set` and the schema allow applies to it too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, parse as parseYaml } from 'yaml';
import { applyOverrides, parseTrainConfig, type TrainConfig } from './config.js';

/** The folder of the shipped presets (configs/presets beside package.json). */
export function presetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`presets: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return join(dir, 'configs', 'presets');
}

export interface PresetInfo {
  name: string;
  file: string;
  /** The first comment line after `name:`. */
  summary: string;
}

/** The shipped presets, by name. */
export function listPresets(): PresetInfo[] {
  const dir = presetsDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      const first = readFileSync(file, 'utf8').split('\n')[0] ?? '';
      const name = basename(f, '.yaml');
      return { name, file, summary: first.replace(/^#\s*/, '').replace(new RegExp(`^${name}:\\s*`), '') };
    });
}

/** The preset called `name` (an error lists the valid names). */
export function presetInfo(name: string): PresetInfo {
  const all = listPresets();
  const p = all.find((x) => x.name === name);
  if (!p) throw new Error(`--preset ${name}: no such preset; presets: ${all.map((x) => x.name).join(', ')} (segkit presets describes them)`);
  return p;
}

/**
 * The preset's config for the data at `dataPath`, with `--set` overrides, validated. The run
 * name is the preset's unless overridden.
 */
export function loadPreset(name: string, dataPath: string, sets: readonly string[] = []): TrainConfig {
  const p = presetInfo(name);
  const raw = parseYaml(readFileSync(p.file, 'utf8')) as Record<string, unknown>;
  return parseTrainConfig(applyOverrides(raw, [`data.path=${JSON.stringify(dataPath)}`, ...sets]), `preset ${name} (${p.file})`);
}

/** The preset's YAML with data.path set, its comments kept: a config for the user to edit. */
export function presetConfigText(name: string, dataPath: string): string {
  const p = presetInfo(name);
  const doc = parseDocument(readFileSync(p.file, 'utf8'));
  doc.setIn(['data', 'path'], dataPath);
  return doc.toString({ lineWidth: 0 });
}
