// Data commands: doctor, split, stats, preview. Each takes a dataset folder, a dataset config
// (.yaml/.json) or a CSV index, plus an optional label map (--label-map, or labelmap.json in
// the folder).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SegDataset, type DatasetSpec } from '../data/dataset.js';
import { doctorExitCode, formatReport, runDoctor } from '../data/doctor/index.js';
import { openInput, readConfigFile, type InputOptions } from '../data/doctor/input.js';
import { writePreview } from '../data/preview.js';
import { computeStats, formatStats, writeStatsJson } from '../data/stats.js';
import { detectEncoding, hintFromNotes, labelMapJson, scanMasks, type DatasetHint } from '../data/encodings.js';
import { registerInitCommands } from './init.js';
import { groupedSplit, groupRefs } from '../data/groups.js';
import {
  describeSplit,
  orderedSplit,
  parseRatios,
  randomSplit,
  stratifiedSplit,
  writeFileAtomic,
  writeSplitCsv,
  type Split,
} from '../data/splits.js';
import { evalPreset, trainPreset, type StepConfig } from '../data/transforms/index.js';

const int = (name: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${v}"`);
  return n;
};
const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return n;
};

/** "12/345" on stderr while a long pass runs (only on a terminal). */
function progress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    if (done === total || done % 16 === 0) process.stderr.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

interface CommonOpts {
  labelMap?: string;
  maskMode?: 'ids' | 'rgb';
  numClasses?: number;
  images?: string;
  masks?: string;
  maskSuffix?: string;
  imageColumn?: string;
  maskColumn?: string;
  skipBad?: boolean;
  maxPixels?: number;
}
const inputOpts = (o: CommonOpts): InputOptions => ({
  ...(o.labelMap ? { labelMap: o.labelMap } : {}),
  ...(o.maskMode ? { maskMode: o.maskMode } : {}),
  ...(o.images ? { images: o.images } : {}),
  ...(o.masks ? { masks: o.masks } : {}),
  ...(o.maskSuffix ? { maskSuffix: o.maskSuffix } : {}),
  ...(o.imageColumn ? { imageColumn: o.imageColumn } : {}),
  ...(o.maskColumn ? { maskColumn: o.maskColumn } : {}),
  ...(o.skipBad ? { onBadFile: 'skip' as const } : {}),
  ...(o.maxPixels ? { maxPixels: o.maxPixels } : {}),
});

/** The class count (from the label map, else --num-classes) and ignore index computeStats needs. */
function statsClasses(ds: SegDataset, o: CommonOpts): { numClasses?: number; ignoreIndex: number } {
  const numClasses = ds.labelMap?.numClasses ?? o.numClasses;
  return { ...(numClasses ? { numClasses } : {}), ignoreIndex: ds.labelMap?.ignoreIndex ?? 255 };
}

/** The options every data command takes: where the files are and how to read them. */
function addCommon(cmd: Command): Command {
  return cmd
    .option('--label-map <file>', 'label map (JSON/YAML); default: labelmap.json beside the data')
    .option('--images <folder>', 'image folder under the dataset folder (default: found from the layout)')
    .option('--masks <folder>', 'mask folder under the dataset folder (default: found from the layout)')
    .option('--mask-suffix <end>', 'mask file names end in this when masks sit beside their images, e.g. _mask')
    .option('--image-column <name>', 'CSV index: the image column (default: image, img, path, ...)')
    .option('--mask-column <name>', 'CSV index: the mask column (default: mask, label, annotation, gt, target, ...)')
    .addOption(new Option('--mask-mode <mode>', 'masks hold class ids or colours').choices(['ids', 'rgb']))
    .option('--num-classes <n>', 'class count when there is no label map', int('--num-classes', 1))
    .option('--skip-bad', 'skip corrupt or unreadable files (and count them) instead of stopping')
    .option('--max-pixels <n>', 'refuse images above this many pixels', int('--max-pixels', 1));
}

/**
 * No label map: say what the masks hold and read them through the suggested map (printed, for
 * the user to save), so statistics and previews show classes, not raw encodings.
 */
async function useSuggestedLabelMap(spec: DatasetSpec, input: string, what: string, hint?: DatasetHint): Promise<void> {
  if (spec.labelMap || !spec.refs.some((r) => r.maskPath)) return;
  const enc = detectEncoding(await scanMasks(spec.refs, { ...(spec.maxPixels ? { maxPixels: spec.maxPixels } : {}), onProgress: progress('scanning masks') }), hint);
  console.log(`masks: ${enc.summary}`);
  if (!enc.labelMap) return;
  const why = enc.usableAsIs ? 'the values are train ids already; to name the classes' : `${enc.why}. The ${what} below read the masks through this label map; to keep it`;
  console.log(`no label map; ${why}, save it as labelmap.json beside the data (segkit labelmap ${input}):`);
  console.log(labelMapJson(enc.labelMap).trimEnd());
  console.log('');
  spec.labelMap = enc.labelMap;
}

/** A transform list from a JSON/YAML file: a list of steps, or { transforms | train: [...] }. */
function readTransforms(file: string): StepConfig[] {
  const raw = readConfigFile(file) as unknown;
  if (Array.isArray(raw)) return raw as StepConfig[];
  const o = raw as Record<string, unknown> | null;
  const inner = o?.transforms ?? o?.train;
  if (Array.isArray(inner)) return inner as StepConfig[];
  if (inner && typeof inner === 'object' && Array.isArray((inner as Record<string, unknown>).train)) return (inner as { train: StepConfig[] }).train;
  throw new Error(`${file}: expected a list of transform steps (or { transforms: [...] }), e.g. [{ name: horizontalFlip }]`);
}

export function registerDataCommands(program: Command): void {
  registerInitCommands(program, addCommon, inputOpts, progress);
  addCommon(
    program
      .command('doctor')
      .description('check a dataset for missing, broken, mismatched or suspicious files')
      .argument('<config-or-folder>', 'dataset folder, dataset config (.yaml/.json) or CSV index'),
  )
    .option('--html <file>', 'write a self-contained HTML report with thumbnails')
    .option('--json <file>', 'write the full report as JSON')
    .option('--split <csv>', 'check class coverage of this split CSV (default: the input\'s own split)')
    .addOption(new Option('--fail-on <level>', 'exit non-zero on errors only, or on warnings too').choices(['error', 'warn']).default('error'))
    .option('--imbalance <ratio>', 'warn when the largest class has more than ratio x the pixels of the smallest', num('--imbalance'), 10)
    .action(async (input: string, o: CommonOpts & { html?: string; json?: string; split?: string; failOn: 'error' | 'warn'; imbalance: number }) => {
      const report = await runDoctor(input, {
        ...inputOpts(o),
        ...(o.numClasses ? { numClasses: o.numClasses } : {}),
        ...(o.split ? { split: o.split } : {}),
        ...(o.html ? { html: o.html } : {}),
        imbalanceRatio: o.imbalance,
        onProgress: progress('checking'),
      });
      console.log(formatReport(report));
      if (o.html) console.log(`\nHTML report: ${o.html}`);
      if (o.json) {
        writeFileAtomic(o.json, JSON.stringify(report, null, 2) + '\n');
        console.log(`JSON report: ${o.json}`);
      }
      process.exitCode = doctorExitCode(report, o.failOn);
    });

  addCommon(
    program
      .command('split')
      .description('split a dataset into train/val/test and write the split as CSV')
      .argument('<folder-or-csv>', 'dataset folder, dataset config or CSV index'),
  )
    .requiredOption('--out <csv>', 'where to write the split (required)')
    .option('--ratios <r>', 'part sizes, e.g. 7:2:1 (train:val:test) or 8:2', '7:2:1')
    .option('--names <list>', 'part names, comma separated (default train,val,test,part4,...)')
    .option('--seed <n>', 'seed of the random and stratified splits', int('--seed'), 0)
    .option('--ordered', 'cut in order of --key instead of at random (earliest part first)')
    .addOption(new Option('--key <key>', 'sort key of --ordered').choices(['name', 'timestamp']).default('name'))
    .option('--key-regex <re>', 'regex for --key timestamp; group 1 the number, optional group 2 its fraction')
    .option('--stratified', 'stratify by per-image class presence, so rare classes reach val/test')
    .option('--json <file>', 'also write the parts (sample ids) as JSON')
    .option('--group-by <key>', 'keep groups whole: session (session folders), sequence (name without its frame number) or a regex whose group 1 is the key')
    .action(async (input: string, o: CommonOpts & { out: string; ratios: string; names?: string; seed: number; ordered?: boolean; key: 'name' | 'timestamp'; keyRegex?: string; stratified?: boolean; groupBy?: string; json?: string }) => {
      if ([o.ordered, o.stratified, o.groupBy].filter(Boolean).length > 1) throw new Error('split: --ordered, --stratified and --group-by exclude each other; pick one');
      const ratios = parseRatios(o.ratios);
      const names = o.names?.split(',').map((s) => s.trim());
      const opened = await openInput(input, inputOpts(o));
      const refs = opened.spec.refs;
      let split: Split;
      if (o.groupBy) {
        const by = o.groupBy === 'session' || o.groupBy === 'sequence' ? o.groupBy : new RegExp(o.groupBy);
        split = groupedSplit(refs, ratios, { by, seed: o.seed, ...(names ? { names } : {}) });
        console.log(`${groupRefs(refs, by).size} groups by ${o.groupBy}, each kept in one part`);
      } else if (o.ordered) {
        split = orderedSplit(refs, ratios, { key: o.key, ...(o.keyRegex ? { regex: new RegExp(o.keyRegex) } : {}), ...(names ? { names } : {}) });
      } else if (o.stratified) {
        const ds = new SegDataset(opened.spec);
        const classes = statsClasses(ds, o);
        const { presence } = await computeStats(ds, { ...classes, onProgress: progress('reading masks') });
        const s = stratifiedSplit(presence, ratios, { seed: o.seed, ...(names ? { names } : {}), ...(classes.numClasses ? { numClasses: classes.numClasses } : {}) });
        for (const u of s.unplaced) console.log(`class ${ds.classes?.[u.classId] ?? u.classId} is not in ${u.part}: only ${u.images} image(s) contain it`);
        if (s.absent.length) console.log(`classes in no image: ${s.absent.map((c) => ds.classes?.[c] ?? c).join(', ')}`);
        split = s;
      } else {
        split = randomSplit(refs, ratios, { seed: o.seed, ...(names ? { names } : {}) });
      }
      writeSplitCsv(o.out, split);
      console.log(describeSplit(split));
      console.log(`wrote ${o.out}`);
      if (o.json) {
        writeFileAtomic(o.json, JSON.stringify({ names: split.names, parts: Object.fromEntries(split.names.map((n) => [n, split.parts[n].map((r) => r.id)])) }, null, 2) + '\n');
        console.log(`wrote ${o.json}`);
      }
    });

  addCommon(
    program
      .command('stats')
      .description('class pixel counts, image presence, mean/std and suggested class weights')
      .argument('<folder>', 'dataset folder, dataset config or CSV index'),
  )
    .option('--out <json>', 'save the statistics as JSON')
    .option('--json <file>', 'the same as --out (every report command takes --json)')
    .action(async (input: string, o: CommonOpts & { out?: string; json?: string }) => {
      o.out ??= o.json;
      const opened = await openInput(input, inputOpts(o));
      const spec = opened.spec;
      if (!o.numClasses) await useSuggestedLabelMap(spec, input, 'statistics', hintFromNotes(opened.notes));
      const ds = new SegDataset(spec);
      const { stats, skipped } = await computeStats(ds, {
        ...statsClasses(ds, o),
        ...(ds.classes ? { classNames: ds.classes } : {}),
        onProgress: progress('reading'),
      });
      console.log(formatStats(stats));
      if (skipped.length) console.log(`skipped ${skipped.length} bad file(s) (--skip-bad / onBadFile: skip), e.g. ${skipped.slice(0, 3).map((r) => r.imagePath).join(', ')}; segkit doctor lists them`);
      if (o.out) {
        writeStatsJson(o.out, stats);
        console.log(`wrote ${o.out}`);
      }
    });

  addCommon(
    program
      .command('preview')
      .description('a PNG grid of augmented samples with their masks overlaid')
      .argument('<folder>', 'dataset folder, dataset config or CSV index'),
  )
    .requiredOption('--out <png>', 'where to write the grid (required)')
    .option('--n <n>', 'number of samples', int('--n', 1), 16)
    .option('--transforms <file>', 'augmentation steps (JSON/YAML list); default: the train preset')
    .addOption(new Option('--preset <name>', 'built-in pipeline when no --transforms').choices(['train', 'eval', 'none']).default('train'))
    .option('--size <px>', 'crop/resize size of the preset', int('--size', 8), 256)
    .option('--tile <px>', 'tile size in the grid', int('--tile', 8), 256)
    .option('--cols <n>', 'grid columns', int('--cols', 1))
    .option('--alpha <a>', 'mask opacity 0..1', num('--alpha'), 0.5)
    .option('--seed <n>', 'seed for the sample choice and the augmentations', int('--seed'), 0)
    .option('--json <file>', 'also write the sample ids and the legend as JSON')
    .action(async (input: string, o: CommonOpts & { out: string; n: number; transforms?: string; preset: 'train' | 'eval' | 'none'; size: number; tile: number; cols?: number; alpha: number; seed: number; json?: string }) => {
      const opened = await openInput(input, inputOpts(o));
      const spec = opened.spec;
      await useSuggestedLabelMap(spec, input, 'preview', hintFromNotes(opened.notes));
      const ds = new SegDataset(spec);
      const transform = o.transforms ? readTransforms(o.transforms) : o.preset === 'train' ? trainPreset(o.size) : o.preset === 'eval' ? evalPreset(o.size) : undefined;
      const r = await writePreview(o.out, ds, {
        n: o.n,
        tile: o.tile,
        alpha: o.alpha,
        seed: o.seed,
        ...(o.cols ? { cols: o.cols } : {}),
        ...(transform ? { transform } : {}),
      });
      console.log(`wrote ${o.out} (${r.grid.width}x${r.grid.height}, ${r.refs.length} samples: ${r.refs.map((x) => x.id).join(', ')})`);
      if (ds.skipped.length) console.log(`skipped ${ds.skipped.length} bad file(s): ${ds.skipped.slice(0, 3).map((x) => x.ref.imagePath).join(', ')}`);
      if (o.json) {
        writeFileAtomic(o.json, JSON.stringify({ samples: r.refs.map((x) => x.id), legend: r.legend, skipped: ds.skipped.map((x) => x.ref.id) }, null, 2) + '\n');
        console.log(`wrote ${o.json}`);
      }
    });
}
