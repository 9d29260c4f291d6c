// `segkit eval` and `segkit predict` for instance models (Mask R-CNN): what they print and write
// once the model is loaded (model-options.ts) and the dataset or files are known.
import { join, relative } from 'node:path';
import type { SegDataset } from '../data/dataset.js';
import type { LoadedModel } from './model-options.js';
import type { ClassAp, InstanceEvaluation } from '../predict/instances/index.js';
import type { CocoEvalResult, IouType } from '../metrics/coco/index.js';

/** The --save kinds an instance model writes. */
export const INSTANCE_SAVE = ['overlay', 'instances', 'coco'] as const;
const SEMANTIC_ONLY = ['mask', 'color', 'panel', 'probs'];

/** --save checked for an instance model: the semantic kinds are refused with the valid ones named. */
export function instanceSaveKinds(save: string[], model: string): Array<(typeof INSTANCE_SAVE)[number]> {
  const bad = save.filter((s) => !(INSTANCE_SAVE as readonly string[]).includes(s));
  if (bad.length > 0) {
    const why = bad.every((s) => SEMANTIC_ONLY.includes(s)) ? `${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} for semantic models` : `unknown output ${bad.map((s) => `'${s}'`).join(', ')}`;
    throw new Error(`--save: ${why}; ${model} is an instance model, which writes ${INSTANCE_SAVE.join(', ')} (e.g. --save overlay,instances,coco)`);
  }
  return save as Array<(typeof INSTANCE_SAVE)[number]>;
}

/** COCO's -1 (nothing to score) as NaN, which the HTML report shows as 'absent'. */
const absent = (v: number): number => (v < 0 ? NaN : v);
const ap = (v: number | undefined): string => (v === undefined || v < 0 ? '-' : (100 * v).toFixed(1));

/** The per-class table, as text or Markdown: AP and AP50 for masks and boxes, objects in the ground truth. */
function classTable(perClass: ClassAp[], objects: Map<number, number>, categoryIds: number[], markdown: boolean): string {
  const segm = perClass.some((c) => c.segm);
  const head = ['class', ...(segm ? ['mask AP', 'mask AP50'] : []), 'box AP', 'box AP50', 'objects'];
  const rows = perClass.map((c) => [c.name, ...(segm ? [ap(c.segm?.AP), ap(c.segm?.AP50)] : []), ap(c.bbox.AP), ap(c.bbox.AP50), String(objects.get(categoryIds[c.label - 1]!) ?? 0)]);
  if (markdown) return [`| ${head.join(' | ')} |`, `| --- |${' ---: |'.repeat(head.length - 1)}`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]!) : v.padStart(widths[j]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** Counted (non-crowd) ground-truth objects per category id, over the evaluated images. */
function objectCounts(e: InstanceEvaluation): Map<number, number> {
  const ids = new Set(e.images.map((r) => r.imageId));
  const n = new Map<number, number>();
  for (const a of e.groundTruth.annotations) if (ids.has(a.image_id) && !a.iscrowd) n.set(a.category_id, (n.get(a.category_id) ?? 0) + 1);
  return n;
}

export interface InstanceEvalArgs {
  dataset: string;
  split?: string;
  out: string;
  panels: number;
  scoreThreshold: number;
  weights?: string;
}

/** `segkit eval` of an instance model: COCO bbox and segm AP on the terminal, report.json/.md/.html and detections.json in `a.out`. */
export async function evalInstanceModel(ds: SegDataset, loaded: LoadedModel, a: InstanceEvalArgs): Promise<void> {
  const [{ mkdirSync }, { evaluateInstances, writeCocoDetectionFile }, { formatCocoStats, COCO_STAT_NAMES }, { writeFileAtomic }, { writeRunReport }] = await Promise.all([
    import('node:fs'),
    import('../predict/instances/index.js'),
    import('../metrics/coco/index.js'),
    import('../data/splits.js'),
    import('../report/html.js'),
  ]);
  const { model, name, description } = loaded;
  const classes = loaded.classes ?? ds.classes;
  if (!classes) throw new Error(`${a.dataset}: no class names (neither the weights nor the data have them); give --label-map with the classes, background first`);
  console.error(`${description}; ${ds.length} images of ${a.dataset}${a.split ? ` (split ${a.split})` : ''}`);
  const started = performance.now();
  const e = await evaluateInstances(model!, ds, classes, {
    panels: a.panels,
    scoreThreshold: a.scoreThreshold,
    draw: { palette: loaded.palette },
    onImage: process.stderr.isTTY ? (i, n) => process.stderr.write(`\r${i + 1}/${n}${i + 1 === n ? '\n' : ''}`) : undefined,
  });
  const seconds = (performance.now() - started) / 1000;
  const types = (['segm', 'bbox'] as IouType[]).filter((t) => e.results[t]);
  const truth = e.groundTruthFile ?? 'the decoded instances';
  const objects = objectCounts(e);
  const detections = e.images.reduce((s, r) => s + r.scores.length, 0);
  console.log(`${e.images.length} images in ${seconds.toFixed(1)} s, ${detections} detections; ground truth: ${truth}`);
  for (const t of types) console.log(`${t === 'segm' ? 'masks (segm)' : 'boxes (bbox)'}:\n${formatCocoStats(e.results[t]!.stats, e.results[t]!.params)}`);
  console.log(classTable(e.perClass, objects, e.categoryIds, false));

  mkdirSync(a.out, { recursive: true });
  await writeCocoDetectionFile(join(a.out, 'detections.json'), e.images, e.categoryIds);
  const files = [join(a.out, 'report.md'), join(a.out, 'report.html'), join(a.out, 'report.json'), join(a.out, 'detections.json')];
  // the decoded ground truth as a COCO file, so other COCO tools can score detections.json too
  if (!e.groundTruthFile) {
    writeFileAtomic(join(a.out, 'ground-truth.json'), JSON.stringify(e.groundTruth));
    files.push(join(a.out, 'ground-truth.json'));
  }
  const metrics: Record<string, number> = {};
  for (const t of types) for (const s of COCO_STAT_NAMES) metrics[`${t}.${s}`] = e.results[t]!.stats[s];
  const title = `${name} on ${a.dataset}${a.split ? ` (${a.split})` : ''}`;
  writeFileAtomic(join(a.out, 'report.json'), JSON.stringify({
    model: name, kind: 'instance', weights: a.weights ?? null, dataset: a.dataset, split: a.split ?? null, images: e.images.length, skipped: e.skipped, seconds,
    groundTruth: e.groundTruthFile ?? 'ground-truth.json', detections: 'detections.json', classes, metrics,
    perClass: e.perClass.map((c) => ({ ...c, categoryId: e.categoryIds[c.label - 1], objects: objects.get(e.categoryIds[c.label - 1]!) ?? 0 })),
  }, null, 2) + '\n');
  writeFileAtomic(join(a.out, 'report.md'), reportMarkdown(title, e, types, seconds, truth, formatCocoStats, classTable(e.perClass, objects, e.categoryIds, true)));
  const headline = (r: CocoEvalResult | undefined) => (r ? ap(r.stats.AP) : '-');
  writeRunReport(join(a.out, 'report.html'), {
    title,
    subtitle: `${e.images.length} images, ${seconds.toFixed(1)} s; ${description}; ground truth: ${truth}`,
    summary: { 'mask AP': headline(e.results.segm), 'mask AP50': e.results.segm ? ap(e.results.segm.stats.AP50) : '-', 'box AP': headline(e.results.bbox), 'box AP50': ap(e.results.bbox?.stats.AP50) },
    classTable: {
      classes: e.perClass.map((c) => c.name),
      columns: [
        ...(e.results.segm ? [{ name: 'mask AP', values: e.perClass.map((c) => absent(c.segm!.AP)), format: 'percent' as const }] : []),
        { name: 'box AP', values: e.perClass.map((c) => absent(c.bbox.AP)), format: 'percent' },
        { name: 'objects', values: e.perClass.map((c) => objects.get(e.categoryIds[c.label - 1]!) ?? 0), format: 'integer' },
      ],
    },
    panels: e.panels,
  });
  console.log(`report: ${files.join(', ')}`);
}

function reportMarkdown(title: string, e: InstanceEvaluation, types: IouType[], seconds: number, truth: string, format: (s: CocoEvalResult['stats'], p: CocoEvalResult['params']) => string, table: string): string {
  return [
    `# ${title}`,
    '',
    `${e.images.length} images${e.skipped.length ? ` (${e.skipped.length} skipped)` : ''} in ${seconds.toFixed(1)} s; ground truth: ${truth}. COCO evaluation (pycocotools' COCOeval): AP averaged over IoU .50:.95, 101 recall points and the classes with objects.`,
    '',
    ...types.flatMap((t) => [`## ${t === 'segm' ? 'Masks (segm)' : 'Boxes (bbox)'}`, '', '```', format(e.results[t]!.stats, e.results[t]!.params), '```', '']),
    '## Per class',
    '',
    'AP in percent at IoU .50:.95 and .50, all areas, 100 detections per image; - where the class has no object in the ground truth.',
    '',
    table,
    '',
  ].join('\n');
}

export interface InstancePredictArgs {
  out: string;
  save: string[];
  scoreThreshold: number;
}

/** `segkit predict` of an instance model: overlays, instance PNGs and a COCO results file, as --save asks. */
export async function predictInstanceModel(files: string[], loaded: LoadedModel, a: InstancePredictArgs): Promise<void> {
  const { predictInstanceFiles } = await import('../predict/instances/index.js');
  const save = instanceSaveKinds(a.save, loaded.name);
  console.error(`${loaded.description}; ${files.length} image${files.length === 1 ? '' : 's'}; drawing detections scoring ${a.scoreThreshold} or more`);
  const perClass = new Map<number, number>();
  let total = 0;
  await predictInstanceFiles(loaded.model!, files, {
    outDir: a.out,
    save,
    classNames: loaded.classes,
    palette: loaded.palette,
    scoreThreshold: a.scoreThreshold,
    onImage: (done, i, n) => {
      total += done.kept.scores.length;
      done.kept.labels.forEach((l) => perClass.set(l, (perClass.get(l) ?? 0) + 1));
      const outputs = done.outputs.length > 3 ? [...done.outputs.slice(0, 2).map((f) => relative(a.out, f)), `${done.outputs.length - 2} more`] : done.outputs.map((f) => relative(a.out, f));
      console.error(`[${i + 1}/${n}] ${done.file}: ${done.kept.scores.length} of ${done.all} detections at score ≥ ${a.scoreThreshold}${outputs.length ? ` → ${outputs.join(', ')}` : ''}`);
    },
  });
  console.log(`wrote ${save.join(', ')} for ${files.length} images to ${a.out}${save.includes('coco') ? ` (COCO results: ${join(a.out, 'detections.json')}, every detection; image ids: ${join(a.out, 'images.json')})` : ''}; ${total} objects at score ≥ ${a.scoreThreshold}:`);
  for (const [label, n] of [...perClass].sort((x, y) => x[0] - y[0])) console.log(`  ${String(label).padStart(3)} ${(loaded.classes?.[label] ?? `class ${label}`).padEnd(20)} ${n}`);
}
