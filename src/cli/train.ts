// `segkit train CONFIG [--resume] [--set key=value ...]`: one training run from a YAML/JSON
// config; --help lists every config key with its default (generated from the schema).
// `segkit train --preset NAME --data PATH`: a seed report's set-up (configs/presets) on the
// user's data; `--write-config FILE` saves that config (comments kept) to edit instead.
// `segkit presets` (or `segkit train --list-presets`) lists the presets, one line each.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { configHelp, loadTrainConfig, type TrainConfig } from '../train/config.js';
import { listPresets, loadPreset, presetConfigText } from '../train/presets.js';
import { writeFileAtomic } from '../data/splits.js';

interface TrainFlags {
  resume?: boolean;
  set: string[];
  dryRun?: boolean;
  preset?: string;
  data?: string;
  listPresets?: boolean;
  writeConfig?: string;
  force?: boolean;
}

function printPresets(): void {
  const all = listPresets();
  const w = Math.max(...all.map((p) => p.name.length));
  for (const p of all) console.log(`  ${p.name.padEnd(w)}  ${p.summary}`);
  console.log(`\nsegkit train --preset NAME --data PATH trains one; the file (${all[0]?.file.replace(/[^/]+$/, '') ?? 'configs/presets/'}NAME.yaml) says which seed report it reproduces and what it sets.`);
}

export function registerTrainCommand(program: Command): void {
  program
    .command('presets')
    .description("list the presets: the seed reports' training set-ups, ready for your data (segkit train --preset NAME --data PATH)")
    .action(printPresets);

  program
    .command('train')
    .description('train a segmentation model from a YAML/JSON config or a preset; outputs go to <outDir>/<name>/')
    .argument('[config]', 'train config (.yaml/.yml/.json); or give --preset and --data')
    .option('--preset <name>', 'a preset instead of a config (segkit presets lists them); needs --data')
    .option('--data <path>', "with --preset: the dataset (data.path): folder, dataset config, CSV index or split CSV")
    .option('--list-presets', 'list the presets, one line each, and exit')
    .option('--write-config <file>', 'with --preset: write its config with --data filled in (comments kept) to edit, and exit')
    .option('--force', 'with --write-config: overwrite an existing file')
    .option('--resume', 'continue the run from its newest complete checkpoint')
    .option('--set <key=value>', 'override a config key (dotted, e.g. optimizer.lr=0.01; key=null unsets it); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--dry-run', 'validate the config, print it with every default filled, and exit')
    .addHelpText('after', () => `\nConfig keys (section.key, default, meaning):\n${configHelp()}\n\nExamples:\n  segkit train configs/shapes-unet.yaml --set train.epochs=5 --set name=quick\n  segkit train --preset unet-binary --data data/pets --set train.epochs=5\n  segkit train --preset deeplabv3-poly-wce --data data/roads --write-config roads.yaml`)
    .action(async (file: string | undefined, o: TrainFlags) => {
      if (o.listPresets) return printPresets();
      const cfg = resolveConfig(file, o);
      if (!cfg) return;
      if (o.dryRun) {
        console.log(JSON.stringify(cfg, null, 2));
        return;
      }
      const { runTraining } = await import('../train/run.js');
      const r = await runTraining(cfg, { resume: o.resume ?? false, handleSigint: true });
      if (r.interrupted) process.exitCode = 130;
    });
}

/** The config of a file or of --preset/--data; undefined after --write-config (nothing to train). */
function resolveConfig(file: string | undefined, o: TrainFlags): TrainConfig | undefined {
  if (o.preset === undefined) {
    if (o.data !== undefined || o.writeConfig !== undefined) throw new Error(`--data and --write-config go with --preset; with a config file, set data.path in it (or --set data.path=${o.data ?? 'PATH'})`);
    if (file === undefined) throw new Error('which config? give a config file, or --preset NAME --data PATH (segkit presets lists the presets)');
    return loadTrainConfig(file, o.set);
  }
  if (file !== undefined) throw new Error(`give a config file or --preset, not both (got ${file} and --preset ${o.preset})`);
  if (o.data === undefined) throw new Error(`--preset ${o.preset} needs --data PATH: the dataset folder, dataset config, CSV index or split CSV`);
  const cfg = loadPreset(o.preset, o.data, o.set); // validates, so a written config is a valid one
  if (o.writeConfig === undefined) return cfg;
  if (o.set.length > 0) throw new Error('--write-config writes the preset as it is; edit the written file instead of passing --set');
  if (existsSync(o.writeConfig) && !o.force) throw new Error(`${o.writeConfig} exists; pass --force to overwrite it`);
  writeFileAtomic(o.writeConfig, presetConfigText(o.preset, o.data));
  console.log(`wrote ${o.writeConfig} (preset ${o.preset}, data ${o.data}); train with: segkit train ${o.writeConfig}`);
  return undefined;
}
