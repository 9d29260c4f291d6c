// Per-sample checks of the dataset doctor: each sample's files are opened once, and everything
// wrong with them becomes an issue that names the file, what is wrong and what to do.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BadFileError, probeImage, readImage, readMask } from '../../io/image.js';
import { loadSample, type DatasetSpec, type MaskMode } from '../dataset.js';
import { compiledLabelMap, LabelMap, type LabelMapSpec } from '../labelmap.js';
import type { ImageBuffer, MaskBuffer, SampleRef } from '../types.js';
import { valueCounts } from '../encodings.js';

export type Severity = 'error' | 'warn';

export type CheckId =
  | 'no-masks'
  | 'label-encoding'
  | 'missing-mask'
  | 'missing-image'
  | 'unreadable'
  | 'size-mismatch'
  | 'rgb-mask'
  | 'unmapped-values'
  | 'empty-mask'
  | 'duplicate-image'
  | 'absent-class'
  | 'split-missing-class'
  | 'split-leak'
  | 'imbalance';

/** What each check looks for and how serious it is. Order = order in the report. */
export const CHECKS: Record<CheckId, { severity: Severity; title: string; fix: string }> = {
  'no-masks': { severity: 'error', title: 'no sample has a mask', fix: 'point segkit at the masks: --masks <folder> for folders, --mask-column <name> for CSV indexes' },
  'label-encoding': { severity: 'error', title: 'mask values are not train ids and no label map says how to read them', fix: 'save the suggested label map as labelmap.json beside the data (segkit labelmap <dataset> does it), then edit the class names' },
  'missing-mask': { severity: 'error', title: 'images without a mask', fix: 'add the mask (same stem as the image) or remove the image' },
  'missing-image': { severity: 'error', title: 'masks without an image', fix: 'add the image or remove the stray mask; check the names match' },
  unreadable: { severity: 'error', title: 'unreadable or truncated files', fix: 're-export or re-download the file, or remove the sample' },
  'size-mismatch': { severity: 'error', title: 'image and mask sizes differ', fix: 'resize the mask to the image with nearest-neighbour (never bilinear), or fix the pairing' },
  'rgb-mask': { severity: 'error', title: 'colour masks where class ids were expected', fix: "use maskMode 'rgb' with a label map giving `colors`, or convert the masks to ids" },
  'unmapped-values': { severity: 'error', title: 'mask values the label map does not cover', fix: "add the values to the label map, or set unmapped: 'ignore'" },
  'empty-mask': { severity: 'warn', title: 'masks with only background / ignore', fix: 'check the annotation exists; keep only if the image truly has no objects' },
  'duplicate-image': { severity: 'warn', title: 'duplicate images (same decoded pixels)', fix: 'keep one copy, especially when copies sit in different splits (leakage)' },
  'absent-class': { severity: 'warn', title: 'classes with no pixel in the dataset', fix: 'drop the class from the label map or add examples' },
  'split-missing-class': { severity: 'warn', title: 'classes missing from a split', fix: 'use a stratified split (segkit split --stratified) or add examples' },
  'split-leak': { severity: 'warn', title: 'sequences, sessions or near-identical images split apart', fix: 'split by group so each stays in one part: segkit split --group-by session|sequence|<regex>' },
  imbalance: { severity: 'warn', title: 'severe class imbalance', fix: 'use class weights (segkit stats) or a sampling strategy' },
};

export interface DoctorIssue {
  check: CheckId;
  severity: Severity;
  message: string;
  /** The offending files (image first, then mask, when both matter). */
  files: string[];
  ref?: SampleRef;
  /** Check-specific numbers: value counts, sizes, classes. */
  details?: Record<string, unknown>;
}

/** Everything learnt about one sample. */
export interface SampleFindings {
  ref: SampleRef;
  issues: DoctorIssue[];
  image?: ImageBuffer;
  /** sha1 of the decoded RGB pixels and the size. */
  imageHash?: string;
  /** The mask as train ids (unmapped values as ignore), when it could be read. */
  mask?: MaskBuffer;
}

export interface CheckContext {
  spec: DatasetSpec;
  /** Mask values >= numClasses count as unmapped when there is no label map. */
  numClasses?: number;
  ignoreIndex: number;
  /** The train id that counts as background for the empty-mask check. Default 0. */
  backgroundId: number;
  /** Whether the dataset has masks at all (then an image without one is an error). */
  expectMasks: boolean;
}


/** The label map and mask mode that apply to a ref (merged datasets override per source). */
export function settingsOf(ref: SampleRef, spec: DatasetSpec): { labelMap?: LabelMap; maskMode: MaskMode } {
  const over = ref.meta?.source !== undefined ? spec.sources?.[ref.meta.source] : undefined;
  const lm = over?.labelMap ?? spec.labelMap;
  return { labelMap: compiledLabelMap(lm), maskMode: over?.maskMode ?? spec.maskMode ?? (lm?.colors ? 'rgb' : 'ids') };
}

const issue = (check: CheckId, message: string, files: string[], ref?: SampleRef, details?: Record<string, unknown>): DoctorIssue => ({
  check,
  severity: CHECKS[check].severity,
  message,
  files,
  ...(ref ? { ref } : {}),
  ...(details ? { details } : {}),
});

const reasonOf = (e: unknown): string => (e instanceof BadFileError ? e.reason : (e as Error).message);

export function hashImage(img: ImageBuffer): string {
  return createHash('sha1').update(`${img.width}x${img.height}x${img.channels}:`).update(img.data).digest('hex');
}

const top = (m: Map<string | number, number>, k = 8): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([v, n]) => `${v} (${n} px)`).join(', ') + (m.size > k ? ` and ${m.size - k} more` : '');

/** Raw ids → train ids with a gray table; unmapped values become ignore and are counted. */
function mapIds(raw: MaskBuffer, ctx: CheckContext, labelMap: LabelMap | undefined): { mask: MaskBuffer; unmapped: Map<number, number> } {
  const unmapped = new Map<number, number>();
  const counts = valueCounts(raw.data);
  const table = new Map<number, number>();
  for (const [v, n] of counts) {
    let id: number;
    if (labelMap) id = labelMap.grayTable[v];
    else id = ctx.numClasses !== undefined && v >= ctx.numClasses && v !== ctx.ignoreIndex ? -1 : v;
    if (id < 0) {
      if (!labelMap || labelMap.unmapped === 'error') unmapped.set(v, n);
      id = ctx.ignoreIndex;
    }
    table.set(v, id);
  }
  const out = ctx.ignoreIndex < 256 && Math.max(...table.values(), 0) < 256 ? new Uint8Array(raw.data.length) : new Uint16Array(raw.data.length);
  for (let i = 0; i < raw.data.length; i++) out[i] = table.get(raw.data[i])!;
  return { mask: { data: out, width: raw.width, height: raw.height }, unmapped };
}

/** Colour mask → train ids with the label map's colour table; unknown colours become ignore. */
function mapColours(rgb: ImageBuffer, ctx: CheckContext, labelMap: LabelMap): { mask: MaskBuffer; unmapped: Map<string, number> } {
  const n = rgb.width * rgb.height;
  const out = new Uint16Array(n);
  const unmapped = new Map<string, number>();
  for (let i = 0, p = 0; i < n; i++, p += rgb.channels) {
    const key = (rgb.data[p] << 16) | (rgb.data[p + 1] << 8) | rgb.data[p + 2];
    const id = labelMap.colorTable.get(key);
    if (id === undefined) {
      out[i] = ctx.ignoreIndex;
      if (labelMap.unmapped === 'error') {
        const name = `(${rgb.data[p]},${rgb.data[p + 1]},${rgb.data[p + 2]})`;
        unmapped.set(name, (unmapped.get(name) ?? 0) + 1);
      }
    } else out[i] = id;
  }
  return { mask: { data: out, width: rgb.width, height: rgb.height }, unmapped };
}

/** Distinct colours of an RGB image whose channels differ somewhere; undefined when it is gray. */
function colourPixels(rgb: ImageBuffer): { pixels: number; colours: Map<string, number> } | undefined {
  let pixels = 0;
  const colours = new Map<string, number>();
  const n = rgb.width * rgb.height;
  for (let i = 0, p = 0; i < n; i++, p += rgb.channels) {
    const [r, g, b] = [rgb.data[p], rgb.data[p + 1], rgb.data[p + 2]];
    if (r !== g || g !== b) pixels++;
    if (colours.size <= 64) {
      const k = `(${r},${g},${b})`;
      colours.set(k, (colours.get(k) ?? 0) + 1);
    }
  }
  return pixels > 0 ? { pixels, colours } : undefined;
}

/** Opens one sample's files and checks them. Never throws for a data problem. */
export async function inspectSample(ref: SampleRef, ctx: CheckContext): Promise<SampleFindings> {
  const f: SampleFindings = { ref, issues: [] };
  const { labelMap, maskMode } = settingsOf(ref, ctx.spec);
  const maxPixels = ctx.spec.maxPixels;

  // Image: decodable to the last byte, hashed for duplicates.
  if (!existsSync(ref.imagePath)) {
    f.issues.push(issue('missing-image', `${ref.imagePath}: listed image does not exist`, [ref.imagePath, ...(ref.maskPath ? [ref.maskPath] : [])], ref));
  } else {
    try {
      f.image = await readImage(ref.imagePath, { maxPixels });
      f.imageHash = hashImage(f.image);
    } catch (e) {
      f.issues.push(issue('unreadable', `${ref.imagePath}: ${reasonOf(e)}`, [ref.imagePath], ref));
    }
  }

  // Mask: present, readable, ids (not colours), covered by the label map, same size, not empty.
  let raw: MaskBuffer | undefined;
  if (!ref.maskPath) {
    if (ref.meta?.coco !== undefined && f.image) {
      try {
        f.mask = (await loadSample(ref, ctx.spec)).mask;
      } catch (e) {
        f.issues.push(issue('unreadable', `${ref.imagePath}: annotations cannot be drawn: ${reasonOf(e)}`, [ref.imagePath], ref));
      }
    } else if (ctx.expectMasks) {
      f.issues.push(issue('missing-mask', `${ref.imagePath}: no mask for this image`, [ref.imagePath], ref));
    }
  } else if (!existsSync(ref.maskPath)) {
    f.issues.push(issue('missing-mask', `${ref.maskPath}: listed mask does not exist (image ${ref.imagePath})`, [ref.imagePath, ref.maskPath], ref));
  } else {
    const file = ref.maskPath;
    try {
      const info = await probeImage(file);
      if (maskMode === 'rgb') {
        const rgb = await readImage(file, { maxPixels });
        if (!labelMap) throw new Error(`maskMode 'rgb' needs a label map with colors`);
        const m = mapColours(rgb, ctx, labelMap);
        f.mask = m.mask;
        if (m.unmapped.size > 0) {
          f.issues.push(issue('unmapped-values', `${file}: colours ${top(m.unmapped)} not in the label map`, [ref.imagePath, file], ref, { values: Object.fromEntries(m.unmapped) }));
        }
      } else {
        if (info.channels >= 3 && !info.isPalette) {
          const colour = colourPixels(await readImage(file, { maxPixels }));
          if (colour) {
            f.issues.push(
              issue('rgb-mask', `${file}: colour image (${colour.pixels} pixels with R, G, B not all equal; colours ${top(colour.colours, 5)}) where class ids were expected`, [ref.imagePath, file], ref, {
                colourPixels: colour.pixels,
              }),
            );
          }
          else raw = await readMask(file, { maxPixels });
        } else raw = await readMask(file, { maxPixels });
        if (raw) {
          const m = mapIds(raw, ctx, labelMap);
          f.mask = m.mask;
          if (m.unmapped.size > 0) {
            const what = labelMap ? 'not covered by the label map' : `not a class id below ${ctx.numClasses} nor the ignore index ${ctx.ignoreIndex}`;
            f.issues.push(issue('unmapped-values', `${file}: values ${top(m.unmapped)} ${what}`, [ref.imagePath, file], ref, { values: Object.fromEntries(m.unmapped) }));
          }
        }
      }
      const imageInfo = f.image;
      if (imageInfo && (info.width !== imageInfo.width || info.height !== imageInfo.height)) {
        f.issues.push(
          issue('size-mismatch', `${file}: mask is ${info.width}x${info.height} but image ${ref.imagePath} is ${imageInfo.width}x${imageInfo.height}`, [ref.imagePath, file], ref, {
            image: [imageInfo.width, imageInfo.height],
            mask: [info.width, info.height],
          }),
        );
      }
    } catch (e) {
      f.issues.push(issue('unreadable', `${file}: ${reasonOf(e)}`, [ref.imagePath, file], ref));
      f.mask = undefined;
    }
  }

  // Unmapped values turn into ignore here, so such a mask is judged by its unmapped issue alone.
  if (f.mask && !f.issues.some((i) => i.check === 'unmapped-values')) {
    let labelled = false;
    const d = f.mask.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] !== ctx.ignoreIndex && d[i] !== ctx.backgroundId) {
        labelled = true;
        break;
      }
    }
    if (!labelled) {
      f.issues.push(issue('empty-mask', `${ref.maskPath ?? ref.imagePath}: mask holds only background (${ctx.backgroundId}) and ignore (${ctx.ignoreIndex})`, [ref.imagePath, ...(ref.maskPath ? [ref.maskPath] : [])], ref));
    }
  }
  return f;
}
