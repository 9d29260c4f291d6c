#!/usr/bin/env node
// The segkit command line.
import { Command, InvalidArgumentError } from 'commander';
import { registerDataCommands } from './data.js';
import { registerPredictCommand } from './predict.js';
import { registerEvalCommand } from './eval.js';
import { registerTrainCommand } from './train.js';
import { registerExportCommand } from './export.js';
import { registerServeCommand } from './serve.js';
import { generateShapes } from '../data/bundled.js';

const program = new Command();
program.name('segkit').description('Image segmentation for TypeScript on libtorch').version('0.1.0');

program
  .command('info')
  .description('show the libtorch segkit is linked against, its threads and devices')
  .action(async () => {
    const torch = await import('../torch/index.js');
    const info = torch.buildInfo();
    console.log(`libtorch ${info.torchVersion} (cxx11 abi: ${info.cxx11Abi}, cuda: ${info.cuda}, mkldnn: ${info.mkldnn})`);
    console.log(`intra-op threads: ${torch.getNumThreads()}; cuda available: ${torch.cudaAvailable()}`);
  });

program
  .command('make-dataset')
  .description('generate the bundled shapes dataset (images, semantic and instance masks, COCO JSON)')
  .option('--dir <dir>', 'output folder', 'data/shapes')
  .option('--seed <n>', 'random seed', (v) => positiveInt('--seed', v), 0)
  .option('--count <n>', 'number of images', (v) => positiveInt('--count', v), 48)
  .option('--size <n>', 'image side in pixels', (v) => positiveInt('--size', v), 128)
  .action(async (o: { dir: string; seed: number; count: number; size: number }) => {
    const dir = await generateShapes(o);
    console.log(`shapes dataset written to ${dir}`);
  });

program
  .command('models')
  .description('list the models --model and models.create take, with their pretrained weight names')
  .action(async () => {
    const { listModels, listWeights, WEIGHTS_BUILDERS } = await import('../models/index.js');
    const titles = { semantic: 'segmentation models:', instance: '\ninstance segmentation models:', classification: '\nImageNet classifiers (backbones, for weightsBackbone):' };
    for (const kind of ['semantic', 'instance', 'classification'] as const) {
      console.log(titles[kind]);
      for (const e of listModels(kind)) {
        const weights = (WEIGHTS_BUILDERS as readonly string[]).includes(e.name) ? listWeights(e.name) : [];
        const names = weights.map((w) => (w.isDefault ? `${w.name} (DEFAULT)` : w.name)).join(', ');
        console.log(`  ${e.name.padEnd(30)} ${e.reference.padEnd(12)} ${e.description}${names ? `; weights ${names}` : ''}`);
      }
    }
  });

registerDataCommands(program);
registerEvalCommand(program);
registerPredictCommand(program);
registerTrainCommand(program);
registerExportCommand(program);
registerServeCommand(program);

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${v}"`);
  return n;
}

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`segkit: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
