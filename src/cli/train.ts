// `segkit train CONFIG [--resume] [--set key=value ...]`: one training run from a YAML/JSON
// config; --help lists every config key with its default (generated from the schema).
import type { Command } from 'commander';
import { configHelp, loadTrainConfig } from '../train/config.js';

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a segmentation model from a YAML/JSON config; outputs go to <outDir>/<name>/')
    .argument('<config>', 'train config (.yaml/.yml/.json)')
    .option('--resume', 'continue the run from its newest complete checkpoint')
    .option('--set <key=value>', 'override a config key (dotted, e.g. optimizer.lr=0.01; key=null unsets it); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--dry-run', 'validate the config, print it with every default filled, and exit')
    .addHelpText('after', () => `\nConfig keys (section.key, default, meaning):\n${configHelp()}\n\nExample: segkit train configs/shapes-unet.yaml --set train.epochs=5 --set name=quick`)
    .action(async (file: string, o: { resume?: boolean; set: string[]; dryRun?: boolean }) => {
      const cfg = loadTrainConfig(file, o.set);
      if (o.dryRun) {
        console.log(JSON.stringify(cfg, null, 2));
        return;
      }
      const { runTraining } = await import('../train/run.js');
      const r = await runTraining(cfg, { resume: o.resume ?? false, handleSigint: true });
      if (r.interrupted) process.exitCode = 130;
    });
}
