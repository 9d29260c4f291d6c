// `segkit labelmap` and `segkit init`: write a label map (and a dataset config) from what the
// masks contain, for the user to edit.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { InputOptions } from '../data/doctor/input.js';
import { labelMapJson } from '../data/encodings.js';
import { datasetConfigYaml, planDataset } from '../data/init.js';
import { writeFileAtomic } from '../data/splits.js';

type Progress = (label: string) => ((done: number, total: number) => void) | undefined;

function writeNew(file: string, text: string, force: boolean | undefined, what: string): void {
  if (existsSync(file) && !force) throw new Error(`${file} exists; pass --force to overwrite it (or --out to write the ${what} elsewhere)`);
  writeFileAtomic(file, text);
}

export function registerInitCommands(program: Command, addCommon: (c: Command) => Command, inputOpts: (o: never) => InputOptions, progress: Progress): void {
  addCommon(
    program
      .command('labelmap')
      .description('write a label map (labelmap.json beside the data) from the values or colours the masks contain')
      .argument('<dataset>', 'dataset folder, CSV index or dataset config'),
  )
    .option('--out <file>', 'where to write it (default: labelmap.json beside the data)')
    .option('--force', 'overwrite an existing file')
    .option('--print', 'print the label map instead of writing it')
    .action(async (input: string, o: { out?: string; force?: boolean; print?: boolean }) => {
      const plan = await planDataset(input, { ...inputOpts(o as never), onProgress: progress('scanning masks') });
      console.log(`masks: ${plan.encoding.summary}`);
      if (plan.encoding.why) console.log(`label map needed: ${plan.encoding.why}`);
      const text = labelMapJson(plan.labelMap!);
      if (o.print) return void process.stdout.write(text);
      const file = resolve(o.out ?? join(plan.dataDir, 'labelmap.json'));
      writeNew(file, text, o.force, 'label map');
      process.stdout.write(text);
      console.log(`wrote ${file}; edit the class names, then: segkit doctor ${input}`);
    });

  addCommon(
    program
      .command('init')
      .description('write a label map and a dataset config (dataset.yaml) for a dataset folder or CSV index, from what it contains')
      .argument('<dataset>', 'dataset folder or CSV index'),
  )
    .option('--out <file>', 'where to write the dataset config (default: dataset.yaml beside the data)')
    .option('--force', 'overwrite existing files')
    .action(async (input: string, o: { out?: string; force?: boolean }) => {
      const plan = await planDataset(input, { ...inputOpts(o as never), onProgress: progress('scanning masks') });
      if (!plan.config) throw new Error(`${input}: init writes a config for a dataset folder or a CSV index; this already is a config (segkit labelmap ${input} writes its label map)`);
      for (const n of plan.notes) console.log(n);
      console.log(`masks: ${plan.encoding.summary}`);
      const lmFile = join(plan.dataDir, 'labelmap.json');
      if (plan.existingLabelMap && !o.force) {
        console.log(`kept the label map ${plan.existingLabelMap} (--force replaces it)`);
        const keep = relative(plan.dataDir, plan.existingLabelMap);
        const set = (src: Record<string, unknown>): void => {
          if ('labelMap' in src) src.labelMap = keep;
          if (src.sources) for (const sub of Object.values(src.sources as Record<string, Record<string, unknown>>)) set(sub);
        };
        set(plan.config.source as Record<string, unknown>);
      } else {
        writeNew(lmFile, labelMapJson(plan.labelMap!), o.force, 'label map');
        console.log(`wrote ${lmFile}`);
      }
      const cfgFile = resolve(o.out ?? join(plan.dataDir, 'dataset.yaml'));
      // Paths in a config are relative to the config's folder.
      const rel = (p: string) => relative(resolve(cfgFile, '..'), resolve(plan.dataDir, p)) || '.';
      const rebase = (src: Record<string, unknown>): void => {
        for (const k of ['root', 'file', 'labelMap', 'annotations', 'imagesDir']) if (typeof src[k] === 'string') src[k] = rel(src[k] as string);
        if (src.sources) for (const sub of Object.values(src.sources as Record<string, Record<string, unknown>>)) rebase(sub);
      };
      rebase(plan.config.source as Record<string, unknown>);
      writeNew(cfgFile, datasetConfigYaml(plan.config, [`dataset config written by segkit init from ${input}`, 'edit freely; reference: the README, "The dataset config"']), o.force, 'config');
      console.log(`wrote ${cfgFile}; edit the class names in the label map, then: segkit doctor ${relative(process.cwd(), cfgFile) || cfgFile}`);
    });
}
