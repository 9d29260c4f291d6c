// `segkit predict`: run a model on image files, folders or globs and write index masks, colour
// masks, overlays, panels and probabilities; for an instance model (Mask R-CNN) overlays with
// masks, boxes, labels and scores, one PNG per instance and a COCO results file. The model comes
// from the registry by name, with weights from a file or by torchvision weight name (its classes
// and normalisation come along).
import { existsSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { addModelOptions, loadModel, unitInterval, type ModelFlags } from './model-options.js';

interface PredictFlags extends ModelFlags {
  out: string;
  save: string[];
  masks?: string;
  scoreThreshold: number;
}

export function registerPredictCommand(program: Command): void {
  const cmd = program
    .command('predict')
    .description('predict masks (semantic models) or objects (instance models: Mask R-CNN) for image files, folders or globs (quote a glob: "data/*.jpg")')
    .argument('<inputs...>', 'image files, folders (searched recursively) or globs')
    .option('-o, --out <dir>', "output folder (mirrors the inputs' sub-folders)", 'predictions')
    .addOption(new Option('--save <outputs>', 'what to write per image: mask (class ids), color, overlay, panel (image | prediction | truth), probs (safetensors); for an instance model: overlay (masks, boxes, labels and scores drawn), instances (one 0/255 PNG per object), coco (detections.json, COCO results of all inputs, and images.json)').default(['mask', 'overlay'], 'mask,overlay; overlay,instances for an instance model').argParser((v: string) => v.split(',').map((s) => s.trim())))
    .option('--masks <dir>', "ground-truth masks (class ids, same relative names, .png) for the panels' third tile")
    .option('--score-threshold <f>', 'instance models: draw and write objects scoring at least this (coco keeps every detection)', unitInterval('--score-threshold'), 0.5);
  addModelOptions(cmd).action(async (inputs: string[], o: PredictFlags) => {
    const [{ commonRoot, expandInputs, predictFiles }, { readMask }] = await Promise.all([import('../predict/files.js'), import('../io/image.js')]);
    const files = await expandInputs(inputs);
    const loaded = await loadModel(o);
    const { forward, normalize, classes, palette, inference, description, dispose } = loaded;
    try {
      if (loaded.kind === 'instance') {
        if (o.masks !== undefined) throw new Error(`--masks: ${loaded.name} is an instance model; ground-truth masks are for the panels of semantic models (segkit eval scores an instance model on a COCO dataset)`);
        const { predictInstanceModel } = await import('./instances.js');
        const save = cmd.getOptionValueSource('save') === 'default' ? ['overlay', 'instances'] : o.save;
        return await predictInstanceModel(files, loaded, { out: o.out, save, scoreThreshold: o.scoreThreshold });
      }
      console.error(`${description}; ${files.length} image${files.length === 1 ? '' : 's'}`);
      const root = commonRoot(files);
      const truth = o.masks === undefined ? undefined : async (file: string) => {
        const rel = relative(root, file);
        const path = join(o.masks!, rel.slice(0, -extname(rel).length) + '.png');
        return existsSync(path) ? readMask(path) : undefined;
      };
      const total = new Map<number, number>();
      await predictFiles(forward, files, {
        outDir: o.out,
        save: o.save as never,
        palette,
        normalize,
        threshold: o.threshold,
        truth,
        inference,
        onImage: (done, i, n) => {
          done.classPixels.forEach((c, id) => total.set(id, (total.get(id) ?? 0) + c));
          console.error(`[${i + 1}/${n}] ${done.file} → ${done.outputs.map((f) => relative(o.out, f)).join(', ')}`);
        },
      });
      const pixels = [...total.values()].reduce((a, b) => a + b, 0);
      console.log(`wrote ${o.save.join(', ')} for ${files.length} images to ${o.out}; predicted pixels by class:`);
      for (const [id, n] of [...total].sort((a, b) => a[0] - b[0])) console.log(`  ${String(id).padStart(3)} ${(classes?.[id] ?? `class ${id}`).padEnd(20)} ${((100 * n) / pixels).toFixed(2)}%`);
    } finally {
      await dispose();
    }
  });
}
