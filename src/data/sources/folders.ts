// Image/mask folder pairs matched by stem: flat (`images/` + `masks/`), split or session folders
// (`train/image` + `train/label`, `<session>/image` + `<session>/indexLabel`), SegNet-style
// `<split>` + `<split>annot`, one folder holding `x.png` + `x_mask.png`, and suffix rules
// (Cityscapes: `x_leftImg8bit.png` ↔ `x_gtFine_labelIds.png`, other files in the mask folder
// ignored). With no folder options the layout is found by `detectLayout`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { IMAGE_EXTENSIONS } from '../../io/image.js';
import type { DatasetSpec } from '../dataset.js';
import type { SampleRef } from '../types.js';

export interface FolderSourceOptions {
  /** Dataset root. */
  root: string;
  /** Image folder under the root (or under each split folder). `{split}` in it stands for the
   *  split name and makes it relative to the root ('{split}' for SegNet's `train/`). Default:
   *  the first of IMAGE_DIRS that exists. '.' for a folder holding images and masks together. */
  images?: string;
  /** Mask folder likewise ('{split}annot' for SegNet). Default: the first of MASK_DIRS.
   *  Set to null for an image-only dataset (prediction). */
  masks?: string | null;
  /** Split (or session) folders: a list ('train', 'val'), or true for every subfolder of the
   *  root that holds the image folder. Each ref gets meta.split (or meta.session). */
  splits?: string[] | boolean;
  /** What the subfolders of `splits` are: 'split' (meta.split) or 'session' (recording sessions,
   *  meta.session, kept whole by grouped splits). Default: 'split' when every name is a split
   *  name (train, val, test, ...), else 'session'. */
  subfolders?: 'split' | 'session';
  /** End of image file names to strip for matching, e.g. '_leftImg8bit.png' (with extension:
   *  only that extension) or '_img' (any image extension). */
  imageSuffix?: string;
  /** End of mask file names, e.g. '_gtFine_labelIds.png' or '_mask'. Files without it are not
   *  masks (and, when images and masks share a folder, files with it are not images). */
  maskSuffix?: string;
  /** Look into subfolders (Cityscapes' city folders); the relative path is part of the stem. Default true. */
  recursive?: boolean;
  /** An image without mask or a mask without image: 'error' (default) or 'skip' it. */
  unmatched?: 'error' | 'skip';
}

export const IMAGE_DIRS = ['images', 'image', 'imgs', 'img', 'JPEGImages', 'leftImg8bit', 'rgb', 'inputs'];
export const MASK_DIRS = [
  'masks', 'mask', 'indexLabel', 'labels', 'label', 'annotations/trimaps', 'annotations', 'SegmentationClass',
  'SegmentationClassPNG', 'gtFine', 'gt', 'gts', 'groundtruth', 'ground_truth', 'segmentations', 'targets', 'trimaps',
];
/** Stem endings that mark a mask when images and masks share one folder. */
export const MASK_SUFFIXES = ['_mask', '_masks', '-mask', '_label', '_labels', '_labelIds', '_gt', '_seg', '_segmentation', '_annotation', '_trimap', '_L'];
/** Folder names taken as splits (anything else under the root is a session or group). */
export const SPLIT_NAMES = ['train', 'training', 'val', 'valid', 'validation', 'test', 'testing', 'trainval', 'dev', 'eval'];
/** Suffixes of SegNet-style mask folders beside their split folder (`train` + `trainannot`). */
const ANNOT_SUFFIXES = ['annot', '_annot', 'annotations', '_labels', '_label', 'label', '_masks', '_mask', '_gt'];

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const subdirs = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
const isImageFile = (name: string): boolean => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** Image files under `dir` (recursively when asked), hidden entries skipped. */
export async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await listFiles(p, true)));
    } else if (isImageFile(e.name)) out.push(p);
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

const hint = (what: 'image' | 'mask'): string =>
  `name it with \`${what === 'image' ? 'images' : 'masks'}:\` in the dataset config or ${what === 'image' ? '--images' : '--masks'} <folder> on the command line`;

/** The image or mask folder of `base` (a split folder or the root). */
function pick(root: string, base: string, given: string | undefined, defaults: string[], what: 'image' | 'mask', split?: string): string {
  if (given !== undefined) {
    const p = given.includes('{split}') ? resolve(root, given.replaceAll('{split}', split ?? '')) : resolve(base, given);
    if (!isDir(p)) throw new Error(`${what} folder ${p} does not exist; ${hint(what)}`);
    return p;
  }
  for (const d of defaults) if (isDir(join(base, d))) return join(base, d);
  throw new Error(`${base}: no ${what} folder found (looked for ${defaults.join(', ')}); ${hint(what)}`);
}

/** The files under `dir` by matching key (files without the suffix left out); a shared key is an error. */
async function byKey(dir: string, recursive: boolean, suffix: string | undefined, what: 'images' | 'masks', exclude?: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const f of await listFiles(dir, recursive)) {
    if (exclude !== undefined && keyOf(f, dir, exclude) !== undefined) continue; // a mask in a shared folder
    const k = keyOf(f, dir, suffix);
    if (k === undefined) continue;
    const dup = files.get(k);
    if (dup) throw new Error(`two ${what} share the stem "${k}": ${dup} and ${f}; rename one`);
    files.set(k, f);
  }
  return files;
}

/** Keys by file name alone (subfolders dropped), or undefined when two files share a name. */
function byName(files: Map<string, string>): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const [k, f] of files) {
    const name = k.slice(k.lastIndexOf('/') + 1);
    if (out.has(name)) return undefined;
    out.set(name, f);
  }
  return out;
}

const overlap = (a: Map<string, string>, b: Map<string, string>): number => [...a.keys()].filter((k) => b.has(k)).length;

/** What a folder source found: the refs, the files no sample uses, and the options it used. */
export interface FolderScan {
  refs: SampleRef[];
  unmatchedImages: string[];
  unmatchedMasks: string[];
  options: FolderSourceOptions;
  /** The layout in words, e.g. "SegNet-style <split> + <split>annot folders (train, val)". */
  layout: string;
}

async function pairs(root: string, opts: FolderSourceOptions, group?: { name: string; kind: 'split' | 'session' }): Promise<Omit<FolderScan, 'options' | 'layout'>> {
  const recursive = opts.recursive ?? true;
  const base = group ? join(root, group.name) : root;
  const imgDir = pick(root, base, opts.images, IMAGE_DIRS, 'image', group?.name);
  const maskDir = opts.masks === null ? undefined : pick(root, base, opts.masks, MASK_DIRS, 'mask', group?.name);
  const shared = maskDir !== undefined && resolve(imgDir) === resolve(maskDir);
  if (shared && !opts.maskSuffix) throw new Error(`${imgDir}: images and masks share this folder, so masks need a name ending (maskSuffix, e.g. '_mask')`);
  let images = await byKey(imgDir, shared ? false : recursive, opts.imageSuffix, 'images', shared ? opts.maskSuffix : undefined);
  let masks = maskDir ? await byKey(maskDir, shared ? false : recursive, opts.maskSuffix, 'masks') : new Map<string, string>();
  // Paths under the two folders differ (Oxford Pet's annotations/trimaps/x.png vs images/x.jpg
  // with masks: annotations) but the file names match: pair by file name.
  if (maskDir && overlap(images, masks) === 0 && images.size > 0 && masks.size > 0) {
    const ni = byName(images), nm = byName(masks);
    if (ni && nm && overlap(ni, nm) > 0) (images = ni), (masks = nm);
  }
  // Masks named x_mask.png (x_label, x_gt, ...) for images x.png, no maskSuffix given: strip it.
  if (maskDir && !opts.maskSuffix && overlap(images, masks) === 0 && masks.size > 0) {
    for (const suffix of MASK_SUFFIXES) {
      const stripped = new Map([...masks].filter(([k]) => k.endsWith(suffix)).map(([k, f]) => [k.slice(0, -suffix.length), f]));
      if (stripped.size === masks.size && overlap(images, stripped) > 0) {
        masks = stripped;
        break;
      }
    }
  }
  const unmatchedImages: string[] = [], unmatchedMasks: string[] = [];
  if (maskDir) {
    const noMask = [...images.keys()].filter((k) => !masks.has(k));
    const noImage = [...masks.keys()].filter((k) => !images.has(k));
    if ((noMask.length || noImage.length) && opts.unmatched !== 'skip') {
      const lines: string[] = [];
      if (noMask.length) lines.push(`${noMask.length} image(s) without a mask in ${maskDir}, e.g. ${noMask.slice(0, 3).map((k) => images.get(k)).join(', ')}`);
      if (noImage.length) lines.push(`${noImage.length} mask(s) without an image in ${imgDir}, e.g. ${noImage.slice(0, 3).map((k) => masks.get(k)).join(', ')}`);
      const eg = noMask.length && noImage.length ? `\n(e.g. image key "${noMask[0]}" vs mask key "${noImage[0]}")` : '';
      throw new Error(`unmatched files (image and mask names must share their stem${opts.imageSuffix || opts.maskSuffix ? ' after the suffixes' : ''}):\n  ${lines.join('\n  ')}${eg}\nrename them, or set unmatched: 'skip' to leave them out`);
    }
    unmatchedImages.push(...noMask.map((k) => images.get(k)!));
    unmatchedMasks.push(...noImage.map((k) => masks.get(k)!));
  }
  const refs: SampleRef[] = [];
  const keys = [...images.keys()].sort();
  // ADE20K / Cityscapes keep splits as the first level under images/ (images/training/x.jpg).
  const firstSplit = !group && keys.length > 0 && keys.every((k) => k.includes('/') && SPLIT_NAMES.includes(k.slice(0, k.indexOf('/')).toLowerCase()));
  for (const k of keys) {
    const maskPath = masks.get(k);
    if (maskDir && !maskPath) continue;
    const ref: SampleRef = { id: group ? `${group.name}/${k}` : k, imagePath: images.get(k)!, ...(maskPath ? { maskPath } : {}) };
    if (group) ref.meta = { [group.kind]: group.name };
    else if (firstSplit) ref.meta = { split: k.slice(0, k.indexOf('/')) };
    refs.push(ref);
  }
  return { refs, unmatchedImages, unmatchedMasks };
}

/** Where the masks sit beside the images, for the layouts found without options. */
interface Found {
  options: Omit<FolderSourceOptions, 'root'>;
  layout: string;
  /** Images without a mask are normal here (VOC's detection-only images): not reported. */
  imagesWithoutMasksOk?: boolean;
}

const holdsImages = (dir: string): boolean => isDir(dir) && readdirSync(dir).some((f) => !f.startsWith('.') && isImageFile(f));
const firstDir = (base: string, names: string[]): string | undefined => names.find((d) => isDir(join(base, d)));

/**
 * The layout of a dataset folder, found from its folder and file names:
 * images/ + masks/ (also Oxford-IIIT Pet's images/ + annotations/trimaps/, Cityscapes'
 * leftImg8bit/ + gtFine/, VOC's JPEGImages/ + SegmentationClass/, ADE20K's images/ +
 * annotations/), SegNet's <split>/ + <split>annot/, split or session folders each holding the
 * pair, and a single folder of x.png + x_mask.png. Throws what was searched and a config to paste.
 */
export function detectLayout(root: string): Found {
  const top = firstDir(root, IMAGE_DIRS);
  if (top) {
    const masks = firstDir(root, MASK_DIRS);
    if (!masks) throw noLayout(root, `found ${top}/ but no mask folder beside it (looked for ${MASK_DIRS.join(', ')})`);
    if (top === 'leftImg8bit' && masks === 'gtFine') {
      return { options: { images: top, masks, imageSuffix: '_leftImg8bit', maskSuffix: '_gtFine_labelIds' }, layout: 'Cityscapes (leftImg8bit/ + gtFine/ *_gtFine_labelIds)' };
    }
    if (top === 'JPEGImages' && masks.startsWith('SegmentationClass')) {
      // VOC: JPEGImages also holds the detection-only images, which have no mask.
      return { options: { images: top, masks, unmatched: 'skip' }, layout: `Pascal VOC (JPEGImages/ + ${masks}/; images without a mask left out)`, imagesWithoutMasksOk: true };
    }
    const ade = masks === 'annotations' && isDir(join(root, top, 'training')) && isDir(join(root, masks, 'training'));
    const layout = masks === 'annotations/trimaps' ? 'Oxford-IIIT Pet (images/ + annotations/trimaps/)' : ade ? 'ADE20K (images/ + annotations/, training/ and validation/)' : `${top}/ + ${masks}/`;
    return { options: { images: top, masks }, layout };
  }
  const dirs = subdirs(root);
  // SegNet: train/ + trainannot/, val/ + valannot/, test/ + testannot/.
  for (const suffix of ANNOT_SUFFIXES) {
    const splits = dirs.filter((d) => holdsImages(join(root, d)) && dirs.includes(d + suffix));
    if (splits.length > 0) {
      return { options: { images: '{split}', masks: `{split}${suffix}`, splits, subfolders: 'split' }, layout: `SegNet-style <split>/ + <split>${suffix}/ folders (${splits.join(', ')})` };
    }
  }
  // Split or session folders, each with the pair.
  const groups = dirs.filter((d) => firstDir(join(root, d), IMAGE_DIRS) && firstDir(join(root, d), MASK_DIRS));
  if (groups.length > 0) {
    const kind = groups.every((g) => SPLIT_NAMES.includes(g.toLowerCase())) ? 'split' : 'session';
    const inner = `${firstDir(join(root, groups[0]), IMAGE_DIRS)}/ + ${firstDir(join(root, groups[0]), MASK_DIRS)}/`;
    return { options: { splits: groups, subfolders: kind }, layout: `${kind} folders (${groups.slice(0, 6).join(', ')}${groups.length > 6 ? ', ...' : ''}) each with ${inner}` };
  }
  // One folder of x.png + x_mask.png.
  const files = readdirSync(root).filter((f) => !f.startsWith('.') && isImageFile(f));
  if (files.length > 0) {
    const stems = files.map((f) => f.slice(0, f.length - extname(f).length));
    const suffix = MASK_SUFFIXES.find((s) => stems.some((st) => st.endsWith(s) && stems.includes(st.slice(0, -s.length))));
    if (suffix) return { options: { images: '.', masks: '.', maskSuffix: suffix, recursive: false }, layout: `one folder of images and <name>${suffix} masks` };
    throw noLayout(root, `found ${files.length} image(s) directly in it (e.g. ${files[0]}) but no masks: no file is named <image name>{${MASK_SUFFIXES.join(',')}} and there is no mask folder`);
  }
  throw noLayout(root, `no image folder, no <split>/ + <split>annot/ pair, no subfolder holding images/ + masks/, and no image files`);
}

function noLayout(root: string, what: string): Error {
  return new Error(
    `${root}: no image folder found (looked for ${IMAGE_DIRS.join(', ')}) and no known dataset layout: ${what}.\n` +
      `Say where the files are, on the command line:  --images <folder> --masks <folder>  (relative to ${root})\n` +
      `or in a dataset config (dataset.yaml):\n` +
      `  source:\n    type: folders\n    root: ${root}\n    images: images        # image folder under root ('{split}' for SegNet's train/)\n` +
      `    masks: masks          # mask folder ('{split}annot' for SegNet)\n    # maskSuffix: _mask   # when masks are x_mask.png beside x.png (images: ., masks: .)\n` +
      `or index the pairs in a CSV with columns image,mask (paths relative to the CSV).`,
  );
}

/** Pair images and masks under `opts.root`, finding the layout when no folder option is given. */
export async function scanFolders(opts: FolderSourceOptions): Promise<FolderScan> {
  const root = resolve(opts.root);
  if (!existsSync(root)) throw new Error(`dataset folder ${root} does not exist`);
  let o: FolderSourceOptions = { ...opts, root };
  let layout = `as configured: ${opts.images ?? 'images'}/ + ${opts.masks === null ? '(no masks)' : `${opts.masks ?? 'masks'}/`}${opts.splits ? ' in split folders' : ''}`;
  let quietImages = false;
  const auto = opts.images === undefined && opts.masks === undefined && opts.splits === undefined && !opts.imageSuffix && !opts.maskSuffix;
  if (auto) {
    const found = detectLayout(root);
    o = { ...found.options, ...o, ...(found.options.unmatched && !opts.unmatched ? { unmatched: found.options.unmatched } : {}) };
    layout = found.layout;
    quietImages = found.imagesWithoutMasksOk ?? false;
  }
  // '{split}' in the folder names without a split list: every subfolder name that fits both.
  if (!o.splits && (o.images?.includes('{split}') || o.masks?.includes('{split}'))) {
    const fits = (pattern: string | null | undefined, d: string) => !pattern?.includes('{split}') || isDir(resolve(root, pattern.replaceAll('{split}', d)));
    o.splits = subdirs(root).filter((d) => fits(o.images, d) && fits(o.masks, d) && !(o.masks && d === o.masks.replaceAll('{split}', '')));
    if (o.splits.length === 0) throw new Error(`${root}: no subfolder fits images '${o.images}' and masks '${o.masks}'; name the splits (splits: [train, val])`);
  }
  if (!o.splits) {
    const p = await pairs(root, o);
    if (quietImages) vocSplits(root, p.refs);
    return { ...p, unmatchedImages: quietImages ? [] : p.unmatchedImages, options: o, layout };
  }
  let groups: string[];
  if (o.splits === true) {
    groups = subdirs(root).filter((d) => {
      try {
        pick(root, join(root, d), o.images, IMAGE_DIRS, 'image', d);
        return true;
      } catch {
        return false;
      }
    });
    if (groups.length === 0) throw new Error(`${root}: no split folders (subfolders holding an image folder) found; ${hint('image')}`);
  } else groups = o.splits;
  const kind = o.subfolders ?? (groups.every((g) => SPLIT_NAMES.includes(g.toLowerCase())) ? 'split' : 'session');
  const scan: FolderScan = { refs: [], unmatchedImages: [], unmatchedMasks: [], options: { ...o, splits: groups, subfolders: kind }, layout };
  for (const g of groups) {
    const p = await pairs(root, o, { name: g, kind });
    scan.refs.push(...p.refs);
    scan.unmatchedImages.push(...p.unmatchedImages);
    scan.unmatchedMasks.push(...p.unmatchedMasks);
  }
  return scan;
}

/** Pair images and masks under `root` into a dataset spec (refs sorted by stem). */
export async function folderSource(opts: FolderSourceOptions): Promise<DatasetSpec> {
  return { refs: (await scanFolders(opts)).refs };
}

/** VOC's split lists (ImageSets/Segmentation/train.txt, val.txt, test.txt: one id a line) as meta.split. */
function vocSplits(root: string, refs: SampleRef[]): void {
  const dir = join(root, 'ImageSets', 'Segmentation');
  const partOf = new Map<string, string>();
  for (const part of ['train', 'val', 'test']) {
    const file = join(dir, `${part}.txt`);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) if (line.trim()) partOf.set(line.trim(), part);
  }
  if (partOf.size === 0) return;
  for (const r of refs) {
    const part = partOf.get(r.id);
    if (part) r.meta = { ...r.meta, split: part };
  }
}
