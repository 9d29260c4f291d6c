// `segkit predict`: run a model on image files, folders or globs and write index masks, colour
// masks, overlays, panels and probabilities. The model comes from the registry by name, with
// weights from a file or by torchvision weight name (its classes and normalisation come along).
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';

const list = (name: string, parse: (s: string) => number) => (v: string): number[] => {
  const values = v.split(',').map((s) => parse(s.trim()));
  if (values.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`${name} takes numbers separated by commas, got "${v}"`);
  return values;
};
const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
  return n;
};
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

interface PredictFlags {
  model: string;
  weights?: string;
  numClasses?: number;
  labelmap?: string;
  out: string;
  save: string[];
  masks?: string;
  scales?: number[];
  flip?: boolean;
  window?: number;
  overlap: number;
  threshold: number;
  mean?: number[];
  std?: number[];
  threads?: number;
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('predict masks for image files, folders or globs (quote a glob: "data/*.jpg")')
    .argument('<inputs...>', 'image files, folders (searched recursively) or globs')
    .requiredOption('-m, --model <name>', 'model name, as models.create takes it (e.g. deeplabv3_resnet101, unet_resnet34)')
    .option('-w, --weights <file|name>', "a .safetensors/.pth file, or a torchvision weight name ('DEFAULT', 'COCO_WITH_VOC_LABELS_V1')")
    .option('--num-classes <n>', 'classes the weights were trained for (default: from the weight name, else the model\'s default)', positive('--num-classes'))
    .option('--labelmap <file>', 'labelmap.json with class names and colours (default: the weights\' classes, VOC colours)')
    .option('-o, --out <dir>', 'output folder (mirrors the inputs\' sub-folders)', 'predictions')
    .addOption(new Option('--save <outputs>', 'what to write per image: mask (class ids), color, overlay, panel (image | prediction | truth), probs (safetensors)').default(['mask', 'overlay'], 'mask,overlay').argParser((v: string) => v.split(',').map((s) => s.trim())))
    .option('--masks <dir>', 'ground-truth masks (class ids, same relative names, .png) for the panels\' third tile')
    .option('--scales <list>', 'test-time scales to average, e.g. 0.5,0.75,1,1.25,1.5,1.75', list('--scales', Number))
    .option('--flip', 'also average the horizontally flipped image')
    .option('--window <n>', 'sliding-window inference with windows of n pixels (images larger than the training crop)', positive('--window'))
    .addOption(new Option('--overlap <f>', 'share of a window its neighbour overlaps').default(1 / 3, '1/3').argParser(Number))
    .option('--threshold <f>', 'one-channel (binary) models: foreground at this probability or above', Number, 0.5)
    .option('--mean <r,g,b>', 'normalisation mean in [0, 1] (default: the weights\', else ImageNet\'s)', list('--mean', Number))
    .option('--std <r,g,b>', 'normalisation std in [0, 1] (default: the weights\', else ImageNet\'s)', list('--std', Number))
    .option('--threads <n>', 'intra-op threads (default: the cores available)', positive('--threads'))
    .action(async (inputs: string[], o: PredictFlags) => {
      const [{ createAsync, weightsOf }, torch, { commonRoot, expandInputs, predictFiles }, { compiledLabelMap, parseLabelMap, vocPalette }, { readMask }] = await Promise.all([
        import('../models/index.js'),
        import('../torch/index.js'),
        import('../predict/files.js'),
        import('../data/labelmap.js'),
        import('../io/image.js'),
      ]);
      if (o.threads) torch.setNumThreads(o.threads);
      const files = await expandInputs(inputs);
      const labelMap = o.labelmap ? compiledLabelMap(parseLabelMap(JSON.parse(readFileSync(o.labelmap, 'utf8')), o.labelmap)) : undefined;
      const model = await createAsync(o.model, { weights: o.weights, numClasses: o.numClasses ?? labelMap?.numClasses });
      try {
        model.eval();
        const info = weightsOf(model);
        const pre = info.weights?.preprocessing ?? info.weightsBackbone?.preprocessing;
        const normalize = { mean: o.mean ?? pre?.mean ?? IMAGENET.mean, std: o.std ?? pre?.std ?? IMAGENET.std };
        const classes = labelMap?.classes ?? info.weights?.categories;
        const palette = labelMap?.palette ?? vocPalette();
        console.error(`${o.model}${o.weights ? ` (${o.weights})` : ''} on ${files.length} image${files.length === 1 ? '' : 's'}; normalise mean ${normalize.mean.join(',')} std ${normalize.std.join(',')}`);
        const truth = o.masks === undefined ? undefined : async (file: string) => {
          const rel = relative(commonRoot(files), file);
          const path = join(o.masks!, rel.slice(0, -extname(rel).length) + '.png');
          return existsSync(path) ? readMask(path) : undefined;
        };
        const total = new Map<number, number>();
        await predictFiles(model, files, {
          outDir: o.out,
          save: o.save as never,
          palette,
          normalize,
          threshold: o.threshold,
          truth,
          inference: { scales: o.scales, flip: o.flip, window: o.window ? { size: o.window, overlap: o.overlap } : undefined },
          onImage: (done, i, n) => {
            done.classPixels.forEach((c, id) => total.set(id, (total.get(id) ?? 0) + c));
            console.error(`[${i + 1}/${n}] ${done.file} → ${done.outputs.map((f) => relative(o.out, f)).join(', ')}`);
          },
        });
        const pixels = [...total.values()].reduce((a, b) => a + b, 0);
        console.log(`wrote ${o.save.join(', ')} for ${files.length} images to ${o.out}; predicted pixels by class:`);
        for (const [id, n] of [...total].sort((a, b) => a[0] - b[0])) console.log(`  ${String(id).padStart(3)} ${(classes?.[id] ?? `class ${id}`).padEnd(20)} ${((100 * n) / pixels).toFixed(2)}%`);
      } finally {
        model.dispose();
      }
    });
}
