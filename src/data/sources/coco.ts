// COCO instance annotations (instances_*.json): images, categories mapped to contiguous labels
// 1..K (0 is background in the semantic rendering), boxes xywh → xyxy, and segmentations
// (polygons, uncompressed or compressed RLE) decoded to masks only when a sample is loaded.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BadFileError } from '../../io/image.js';
import type { DatasetSpec } from '../dataset.js';
import type { Instance, MaskBuffer, SampleRef } from '../types.js';
import { segmentationToMask, type CocoSegmentation } from './rle.js';

/** Key of `SampleRef.meta` holding the image's annotations (a JSON string, see `CocoMeta`). */
export const COCO_META_KEY = 'coco';

/** What a COCO sample carries in `ref.meta.coco` (JSON): enough to rebuild targets in a worker. */
export interface CocoMeta {
  file: string; // the annotation file, for error messages
  imageId: number;
  width: number;
  height: number;
  anns: Array<{
    id: number;
    label: number; // 1..K
    box: [number, number, number, number]; // x1, y1, x2, y2
    iscrowd: boolean;
    area: number;
    segmentation?: CocoSegmentation;
  }>;
}

export interface CocoSourceOptions {
  /** The annotation JSON. */
  annotations: string;
  /** Folder that `file_name`s are relative to. Default: the JSON's folder. */
  imagesDir?: string;
  /** Leave out images without annotations. Default false (they are background-only samples). */
  skipEmpty?: boolean;
}

interface CocoJson {
  images?: Array<{ id: number; file_name: string; width: number; height: number }>;
  annotations?: Array<{ id: number; image_id: number; category_id: number; bbox?: number[]; iscrowd?: number; area?: number; segmentation?: CocoSegmentation }>;
  categories?: Array<{ id: number; name: string }>;
}

/** Read a COCO annotation file into a dataset spec (labels 1..K, classes[0] = 'background'). */
export async function cocoSource(opts: CocoSourceOptions): Promise<DatasetSpec> {
  const file = opts.annotations;
  let json: CocoJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as CocoJson;
  } catch (e) {
    throw new BadFileError(file, `cannot read COCO annotations: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.images) || !Array.isArray(json.categories)) {
    throw new BadFileError(file, 'not a COCO instances file: `images` and `categories` arrays are required');
  }
  const cats = [...json.categories].sort((a, b) => a.id - b.id);
  const labelOf = new Map(cats.map((c, i) => [c.id, i + 1]));
  const classes = ['background', ...cats.map((c) => c.name)];

  const byImage = new Map<number, CocoMeta['anns']>();
  for (const a of json.annotations ?? []) {
    const label = labelOf.get(a.category_id);
    if (label === undefined) throw new BadFileError(file, `annotation ${a.id} has category_id ${a.category_id}, which is not in \`categories\``);
    const [x, y, w, h] = a.bbox ?? [0, 0, 0, 0];
    const list = byImage.get(a.image_id) ?? [];
    list.push({ id: a.id, label, box: [x, y, x + w, y + h], iscrowd: a.iscrowd === 1, area: a.area ?? w * h, segmentation: a.segmentation });
    byImage.set(a.image_id, list);
  }
  const root = opts.imagesDir ?? dirname(file);
  const refs: SampleRef[] = [];
  for (const img of json.images) {
    const anns = byImage.get(img.id) ?? [];
    if (opts.skipEmpty && anns.length === 0) continue;
    const meta: CocoMeta = { file, imageId: img.id, width: img.width, height: img.height, anns };
    refs.push({ id: String(img.file_name.replace(/\.[^./]+$/, '')), imagePath: resolve(root, img.file_name), meta: { [COCO_META_KEY]: JSON.stringify(meta) } });
  }
  return { refs, labelMap: { classes }, instances: true };
}

export interface CocoTargetOptions {
  semantic: boolean;
  instances: boolean;
  ignoreIndex: number;
  overlap?: 'ignore' | 'last';
  crowd?: 'ignore' | 'label';
}

/**
 * Build a sample's targets from its `meta.coco`: instances (boxes clamped to the image; masks
 * decoded now) and/or a semantic mask (instances drawn in order; pixels under two or more
 * instances and crowd regions become the ignore index unless told otherwise).
 */
export function cocoTargets(metaJson: string, ref: SampleRef, width: number, height: number, opts: CocoTargetOptions): { semantic?: MaskBuffer; instances?: Instance[] } {
  const meta = JSON.parse(metaJson) as CocoMeta;
  if (meta.width !== width || meta.height !== height) {
    throw new BadFileError(ref.imagePath, `image is ${width}x${height} but ${meta.file} says ${meta.width}x${meta.height} (image id ${meta.imageId})`);
  }
  const decode = (a: CocoMeta['anns'][number]): Uint8Array => {
    if (!a.segmentation) return new Uint8Array(width * height);
    try {
      return segmentationToMask(a.segmentation, height, width);
    } catch (e) {
      throw new BadFileError(meta.file, `annotation ${a.id} (image ${ref.imagePath}): ${(e as Error).message}`);
    }
  };
  const masks = opts.semantic || opts.instances ? meta.anns.map(decode) : [];
  const out: { semantic?: MaskBuffer; instances?: Instance[] } = {};

  if (opts.semantic) {
    const n = width * height;
    const maxLabel = Math.max(0, ...meta.anns.map((a) => a.label));
    const sem = maxLabel < 256 && opts.ignoreIndex < 256 ? new Uint8Array(n) : new Uint16Array(n);
    const cover = new Uint8Array(n);
    const ignore = opts.ignoreIndex;
    meta.anns.forEach((a, k) => {
      if (a.iscrowd && (opts.crowd ?? 'ignore') === 'ignore') return;
      const m = masks[k];
      for (let i = 0; i < n; i++) {
        if (!m[i]) continue;
        sem[i] = cover[i] && (opts.overlap ?? 'ignore') === 'ignore' ? ignore : a.label;
        if (cover[i] < 255) cover[i]++;
      }
    });
    if ((opts.crowd ?? 'ignore') === 'ignore') {
      meta.anns.forEach((a, k) => {
        if (a.iscrowd) masks[k].forEach((v, i) => v && (sem[i] = ignore));
      });
    }
    out.semantic = { data: sem, width, height };
  }

  if (opts.instances) {
    const instances: Instance[] = [];
    meta.anns.forEach((a, k) => {
      const box: Instance['box'] = [clamp(a.box[0], width), clamp(a.box[1], height), clamp(a.box[2], width), clamp(a.box[3], height)];
      if (box[2] <= box[0] || box[3] <= box[1]) return; // degenerate, as torchvision's reference drops them
      instances.push({ label: a.label, box, mask: masks[k], iscrowd: a.iscrowd, area: a.area });
    });
    out.instances = instances;
  }
  return out;
}

const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);

/** A COCO instances file found in a dataset folder, with its images folder and split. */
export interface FoundCoco {
  annotations: string;
  imagesDir: string;
  split?: string;
}

/**
 * COCO instances files in `root` or `root/annotations` (instances_*.json, or any JSON whose head
 * has "images" and "annotations"), each with its images folder: `<root>/<train2017>` for
 * instances_train2017.json, else `<root>/images`, else the root.
 */
export function findCocoFiles(root: string): FoundCoco[] {
  const out: FoundCoco[] = [];
  for (const dir of [root, join(root, 'annotations')]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.json')).sort()) {
      const file = join(dir, name);
      const fd = openSync(file, 'r');
      const head = Buffer.alloc(65536);
      const n = readSync(fd, head, 0, head.length, 0);
      closeSync(fd);
      const text = head.subarray(0, n).toString('utf8');
      if (!/^instances_/i.test(name) && (!text.includes('"images"') || !text.includes('"annotations"'))) continue;
      const part = /^instances_(.+)\.json$/i.exec(name)?.[1];
      // The images folder: the one where the first file_name exists.
      const first = /"file_name"\s*:\s*"([^"]+)"/.exec(text)?.[1];
      const dirs = [...(part ? [join(root, part)] : []), join(root, 'images'), root, dir];
      const imagesDir = dirs.find((d) => existsSync(d) && statSync(d).isDirectory() && (first === undefined || existsSync(join(d, first)))) ?? root;
      const split = part ? /^(train|val|test)/i.exec(part)?.[1].toLowerCase() : undefined;
      out.push({ annotations: file, imagesDir, ...(split ? { split } : {}) });
    }
  }
  return out;
}
