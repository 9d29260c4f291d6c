// Image/mask folder pairs matched by stem: flat (`images/` + `masks/`), split folders
// (`train/image` + `train/label`, `val/...`) and suffix rules (Cityscapes:
// `x_leftImg8bit.png` ↔ `x_gtFine_labelIds.png`, other files in the mask folder ignored).
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { IMAGE_EXTENSIONS } from '../../io/image.js';
import type { DatasetSpec } from '../dataset.js';
import type { SampleRef } from '../types.js';

export interface FolderSourceOptions {
  /** Dataset root. */
  root: string;
  /** Image folder under the root (or under each split folder). Default: the first of
   *  images, image, imgs, img, JPEGImages, leftImg8bit that exists. */
  images?: string;
  /** Mask folder likewise. Default: masks, mask, labels, label, annotations, SegmentationClass, gtFine, gt.
   *  Set to null for an image-only dataset (prediction). */
  masks?: string | null;
  /** Split folders: a list ('train', 'val'), or true for every subfolder of the root that holds
   *  the image folder. Each ref gets meta.split. */
  splits?: string[] | boolean;
  /** End of image file names to strip for matching, e.g. '_leftImg8bit.png' (with extension:
   *  only that extension) or '_img' (any image extension). */
  imageSuffix?: string;
  /** End of mask file names, e.g. '_gtFine_labelIds.png'. Files without it are not masks. */
  maskSuffix?: string;
  /** Look into subfolders (Cityscapes' city folders); the relative path is part of the stem. Default true. */
  recursive?: boolean;
  /** An image without mask or a mask without image: 'error' (default) or 'skip' it. */
  unmatched?: 'error' | 'skip';
}

export const IMAGE_DIRS = ['images', 'image', 'imgs', 'img', 'JPEGImages', 'leftImg8bit'];
export const MASK_DIRS = ['masks', 'mask', 'labels', 'label', 'annotations', 'SegmentationClass', 'gtFine', 'gt'];

/** Image files under `dir` (recursively when asked), hidden entries skipped. */
export async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await listFiles(p, true)));
    } else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Matching key of a file: its path under `dir` with the suffix (or extension) removed;
 *  undefined when the file does not end in the suffix (then it is not part of the dataset). */
export function keyOf(file: string, dir: string, suffix: string | undefined): string | undefined {
  const rel = relative(dir, file).split(sep).join('/');
  if (suffix && suffix.includes('.')) return rel.toLowerCase().endsWith(suffix.toLowerCase()) ? rel.slice(0, -suffix.length) : undefined;
  const stem = rel.slice(0, rel.length - extname(rel).length);
  if (!suffix) return stem;
  return stem.endsWith(suffix) ? stem.slice(0, -suffix.length) : undefined;
}

function pick(base: string, given: string | undefined, defaults: string[], what: string): string {
  if (given !== undefined) {
    const p = resolve(base, given);
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new Error(`${what} folder ${p} does not exist`);
    return p;
  }
  for (const d of defaults) if (existsSync(join(base, d)) && statSync(join(base, d)).isDirectory()) return join(base, d);
  throw new Error(`${base}: no ${what} folder found (looked for ${defaults.join(', ')}); name it with the \`${what === 'image' ? 'images' : 'masks'}\` option`);
}

/** The files under `dir` by matching key (files without the suffix left out); a shared key is an error. */
async function byKey(dir: string, recursive: boolean, suffix: string | undefined, what: 'images' | 'masks'): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const f of await listFiles(dir, recursive)) {
    const k = keyOf(f, dir, suffix);
    if (k === undefined) continue;
    const dup = files.get(k);
    if (dup) throw new Error(`two ${what} share the stem "${k}": ${dup} and ${f}; rename one`);
    files.set(k, f);
  }
  return files;
}

async function pairs(base: string, opts: FolderSourceOptions, split?: string): Promise<SampleRef[]> {
  const recursive = opts.recursive ?? true;
  const imgDir = pick(base, opts.images, IMAGE_DIRS, 'image');
  const maskDir = opts.masks === null ? undefined : pick(base, opts.masks, MASK_DIRS, 'mask');
  const images = await byKey(imgDir, recursive, opts.imageSuffix, 'images');
  const masks = maskDir ? await byKey(maskDir, recursive, opts.maskSuffix, 'masks') : new Map<string, string>();
  if (maskDir) {
    const noMask = [...images.keys()].filter((k) => !masks.has(k));
    const noImage = [...masks.keys()].filter((k) => !images.has(k));
    if ((noMask.length || noImage.length) && opts.unmatched !== 'skip') {
      const lines: string[] = [];
      if (noMask.length) lines.push(`${noMask.length} image(s) without a mask in ${maskDir}, e.g. ${noMask.slice(0, 3).map((k) => images.get(k)).join(', ')}`);
      if (noImage.length) lines.push(`${noImage.length} mask(s) without an image in ${imgDir}, e.g. ${noImage.slice(0, 3).map((k) => masks.get(k)).join(', ')}`);
      throw new Error(`unmatched files (image and mask names must share their stem${opts.imageSuffix || opts.maskSuffix ? ' after the suffixes' : ''}):\n  ${lines.join('\n  ')}\nrename them, or set unmatched: 'skip' to leave them out`);
    }
  }
  const refs: SampleRef[] = [];
  for (const k of [...images.keys()].sort()) {
    const maskPath = masks.get(k);
    if (maskDir && !maskPath) continue;
    const ref: SampleRef = { id: split ? `${split}/${k}` : k, imagePath: images.get(k)!, ...(maskPath ? { maskPath } : {}) };
    if (split) ref.meta = { split };
    refs.push(ref);
  }
  return refs;
}

/** Pair images and masks under `root` into a dataset spec (refs sorted by stem). */
export async function folderSource(opts: FolderSourceOptions): Promise<DatasetSpec> {
  const root = resolve(opts.root);
  if (!existsSync(root)) throw new Error(`dataset folder ${root} does not exist`);
  if (!opts.splits) return { refs: await pairs(root, opts) };
  let splits: string[];
  if (opts.splits === true) {
    const dirs = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    splits = dirs.filter((d) => {
      try {
        pick(join(root, d), opts.images, IMAGE_DIRS, 'image');
        return true;
      } catch {
        return false;
      }
    });
    if (splits.length === 0) throw new Error(`${root}: no split folders (subfolders holding an image folder) found`);
  } else splits = opts.splits;
  const refs: SampleRef[] = [];
  for (const s of splits) refs.push(...(await pairs(join(root, s), opts, s)));
  return { refs };
}
