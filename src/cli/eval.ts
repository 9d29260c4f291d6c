// `segkit eval`: score a model on a dataset (or one split of it) and write the report: the scores
// and per-class table on the terminal, report.json, report.md, report.html (confusion matrix,
// sample panels) and confusion.png (rows truth, columns prediction, each row normalised) in --out.
// An instance model (Mask R-CNN) is scored by COCO's bbox and segm AP instead (./instances.ts),
// with its detections written as a COCO results file.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { addModelOptions, loadModel, positive, unitInterval, type ModelFlags } from './model-options.js';

interface EvalFlags extends ModelFlags {
  split?: string;
  out: string;
  panels: number;
  skipBad?: boolean;
  maxImages?: number;
  scoreThreshold: number;
}

export function registerEvalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description('score a model on a dataset: mIoU, Dice, accuracy (dataset-level and per image), per-class table, confusion matrix; an instance model (Mask R-CNN): COCO box and mask AP, per-class AP, detections.json')
    .argument('<dataset>', 'a dataset folder, a dataset config (.yaml/.json), a CSV index (as segkit doctor takes it), a COCO instances JSON, or a training config (its data.path, split as training split it)')
    .option('--split <name>', 'only the samples of this split (split folders, a split column or a split CSV)')
    .option('-o, --out <dir>', 'where report.json, report.md, report.html and confusion.png go (instance models: detections.json instead of confusion.png)', 'eval')
    .option('--panels <n>', 'image | prediction | truth panels in the HTML report', (v) => Math.round(positive('--panels')(v)), 4)
    .option('--max-images <n>', 'evaluate only the first n images (of the split)', (v) => Math.round(positive('--max-images')(v)))
    .option('--score-threshold <f>', "instance models: the panels draw objects scoring at least this (AP counts every detection)", unitInterval('--score-threshold'), 0.5)
    .option('--skip-bad', 'skip unreadable files (counted in the report) instead of stopping');
  addModelOptions(cmd).action(async (dataset: string, o: EvalFlags) => {
    const [{ openInput }, { SegDataset }, { evaluate, evaluationMarkdown, percent: pct }, { formatClassTable }, { writeRunReport }, { writeFileAtomic }, { confusionPng }] = await Promise.all([
      import('../data/doctor/input.js'),
      import('../data/dataset.js'),
      import('../predict/evaluate.js'),
      import('../metrics/index.js'),
      import('../report/html.js'),
      import('../data/splits.js'),
      import('../report/confusion-image.js'),
    ]);
    const { COCO_META_KEY } = await import('../data/sources/coco.js');
    // a training config stands for its data, split as training split it (--split test: its held-out part)
    const trained = await trainingConfigData(dataset);
    const labelMap = o.labelMap ?? trained?.labelMap;
    const opened = await openInput(trained?.path ?? dataset, { ...(labelMap ? { labelMap } : {}), ...(o.skipBad ? { onBadFile: 'skip' as const } : {}) });
    if (trained && !opened.split) opened.split = (await import('../data/splits.js')).randomSplit(opened.spec.refs, trained.splitRatios, { seed: trained.splitSeed });
    // the samples evaluated: --split's, then the first --max-images
    const select = (spec: typeof opened.spec) => {
      let ds = new SegDataset(spec);
      if (o.split !== undefined) {
        const parts = opened.split?.parts ?? {};
        const ids = parts[o.split];
        if (!ids) throw new Error(`${dataset} has no split '${o.split}'${Object.keys(parts).length ? `; its splits: ${Object.keys(parts).join(', ')}` : ' (no split folders, split column or split CSV)'}`);
        const wanted = new Set(ids.map((r) => r.id));
        ds = ds.subset(Array.from({ length: ds.length }, (_, i) => i).filter((i) => wanted.has(ds.ref(i).id)));
      }
      if (o.maxImages !== undefined && ds.length > o.maxImages) ds = ds.subset(Array.from({ length: o.maxImages }, (_, i) => i));
      if (ds.length === 0) throw new Error(`${dataset}${o.split !== undefined ? ` has no images in its split '${o.split}'` : ' has no images'}; nothing to evaluate`);
      return ds;
    };
    const ds = select(opened.spec);
    const loaded = await loadModel(o, { classes: ds.classes, palette: ds.labelMap?.palette });
    const { forward, name, backend, normalize, classes, palette, inference, description, dispose } = loaded;
    try {
      if (loaded.kind === 'instance') {
        // objects come from COCO annotations (a COCO JSON, a folder with one, or a split CSV of a run trained on one)
        if (!opened.spec.refs.some((r) => r.meta?.[COCO_META_KEY] !== undefined)) {
          throw new Error(`${dataset} has no per-object annotations to score ${name} (an instance model) against; give a COCO instances JSON, a folder holding annotations.json, or the split.csv of a run trained on one`);
        }
        const { evalInstanceModel } = await import('./instances.js');
        return await evalInstanceModel(select({ ...opened.spec, instances: true }), loaded, { dataset, split: o.split, out: o.out, panels: o.panels, scoreThreshold: o.scoreThreshold, weights: o.weights });
      }
      const numClasses = classes?.length || o.numClasses;
      if (!numClasses) throw new Error('how many classes? give --num-classes, or a label map (--label-map, or labelmap.json beside the data)');
      console.error(`${description}; ${ds.length} images of ${dataset}${o.split ? ` (split ${o.split})` : ''}`);
      const started = performance.now();
      const e = await evaluate(forward, ds, {
        numClasses: Math.max(numClasses, 2),
        normalize,
        inference,
        threshold: o.threshold,
        panels: o.panels,
        palette,
        onImage: process.stderr.isTTY ? (i, n) => process.stderr.write(`\r${i + 1}/${n}${i + 1 === n ? '\n' : ''}`) : undefined,
      });
      const seconds = (performance.now() - started) / 1000;
      const m = e.metrics;
      const names = classes && classes.length === m.numClasses ? classes : undefined;
      console.log(`${e.images} images in ${seconds.toFixed(1)} s: mIoU ${pct(m.miou)} (per image ${pct(m.perImage.miou)}), mean Dice ${pct(m.meanDice)}, pixel accuracy ${pct(m.pixelAccuracy)}${m.binaryDice !== undefined ? `, binary Dice ${pct(m.binaryDice)}` : ''}`);
      console.log(formatClassTable(m, { classNames: names }));
      mkdirSync(o.out, { recursive: true });
      const title = `${name} on ${dataset}${o.split ? ` (${o.split})` : ''}`;
      writeFileAtomic(join(o.out, 'report.json'), JSON.stringify({ model: name, weights: o.weights ?? null, onnx: o.onnx ?? null, backend, dataset, split: o.split ?? null, inference, normalize, images: e.images, skipped: e.skipped, seconds, classes: names ?? null, metrics: m }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
      writeFileAtomic(join(o.out, 'report.md'), evaluationMarkdown(title, e, names));
      writeRunReport(join(o.out, 'report.html'), {
        title,
        subtitle: `${e.images} images, ${seconds.toFixed(1)} s; ${description}`,
        summary: { mIoU: pct(m.miou), 'mIoU per image': pct(m.perImage.miou), 'mean Dice': pct(m.meanDice), 'pixel accuracy': pct(m.pixelAccuracy) },
        classTable: {
          classes: names ?? Array.from({ length: m.numClasses }, (_, c) => String(c)),
          columns: [
            { name: 'IoU %', values: m.iou, format: 'percent' },
            { name: 'Dice %', values: m.dice, format: 'percent' },
            { name: 'precision %', values: m.precision, format: 'percent' },
            { name: 'recall %', values: m.recall, format: 'percent' },
            { name: 'pixels', values: m.support, format: 'integer' },
          ],
        },
        confusion: { classes: names ?? Array.from({ length: m.numClasses }, (_, c) => String(c)), matrix: m.matrix },
        panels: e.panels,
      });
      const classNames = names ?? Array.from({ length: m.numClasses }, (_, c) => String(c));
      writeFileAtomic(join(o.out, 'confusion.png'), await confusionPng(m.matrix, classNames, { title: `${title}: rows truth, columns prediction, each row 100%` }));
      console.log(`report: ${join(o.out, 'report.md')}, ${join(o.out, 'report.html')}, ${join(o.out, 'report.json')}, ${join(o.out, 'confusion.png')}`);
    } finally {
      await dispose();
    }
  });
}

/**
 * The data of a training config given as the dataset (a .yaml/.json with `model` and
 * `data.path`): the path, label map and split settings training used; undefined for other inputs.
 */
async function trainingConfigData(file: string): Promise<{ path: string; labelMap?: string; splitRatios: number[]; splitSeed: number } | undefined> {
  if (!/\.(ya?ml|json)$/i.test(file) || !existsSync(file)) return undefined;
  const { readConfigFile } = await import('../data/config-file.js');
  let raw: unknown;
  try {
    raw = readConfigFile(file);
  } catch {
    return undefined; // openInput reports what is wrong with the file
  }
  const r = raw as { model?: unknown; data?: { path?: unknown } } | null;
  if (!r || typeof r !== 'object' || r.model === undefined || typeof r.data?.path !== 'string') return undefined;
  const { loadTrainConfig } = await import('../train/config.js');
  const { data } = loadTrainConfig(file);
  return { path: data.path, ...(data.labelMap ? { labelMap: data.labelMap } : {}), splitRatios: data.splitRatios, splitSeed: data.splitSeed };
}
