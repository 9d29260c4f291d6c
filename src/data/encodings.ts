// What the masks of a dataset hold, found from their raw values, and the label map that turns
// them into train ids: non-contiguous gray ids (0/74/128/145), 0/255 and 0/1 binary masks,
// Oxford-IIIT Pet trimaps (1/2/3), palette PNGs (VOC), RGB colour masks (VOC colours or any).
//
//   const scan = await scanMasks(spec.refs);
//   const enc = detectEncoding(scan);   // enc.summary: what was found; enc.labelMap: a map to use
import { readFile } from 'node:fs/promises';
import { BadFileError, probeImage, readImage, readMask } from '../io/image.js';
import { decodePng } from '../io/png.js';
import type { LabelMapSpec, RGB } from './labelmap.js';
import { vocPalette } from './labelmap.js';
import { forEachLimit } from './stats.js';
import type { SampleRef } from './types.js';

/** Pascal VOC's 21 classes, in train-id order. */
export const VOC_CLASSES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** Pixel and image counts of one raw value (gray level, palette index or packed RGB colour). */
export interface ValueCount {
  pixels: number;
  images: number;
}

/** The raw contents of a dataset's masks. */
export interface MaskScan {
  /** Masks read. */
  masks: number;
  /** How many were gray (or RGB with R = G = B), palette PNGs and colour images. */
  gray: number;
  paletted: number;
  rgb: number;
  /** Gray levels / palette indices → counts (gray and palette masks). */
  values: Map<number, ValueCount>;
  /** Packed 0xRRGGBB → counts (colour masks). */
  colours: Map<number, ValueCount>;
  /** The PLTE colours of the first palette PNG. */
  palette?: RGB[];
  /** Masks that could not be read, with the reason. */
  bad: Array<{ file: string; reason: string }>;
}

export interface ScanOptions {
  maxPixels?: number;
  concurrency?: number;
  /** Read at most this many masks (spread over the dataset). Default: all. */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

const add = (m: Map<number, ValueCount>, v: number, n: number): void => {
  const c = m.get(v);
  if (c) (c.pixels += n), c.images++;
  else m.set(v, { pixels: n, images: 1 });
};

/** Reads every mask of `refs` once and counts its raw values. Bad files are listed, not thrown. */
export async function scanMasks(refs: SampleRef[], opts: ScanOptions = {}): Promise<MaskScan> {
  let files = refs.flatMap((r) => (r.maskPath ? [r.maskPath] : []));
  if (opts.limit !== undefined && files.length > opts.limit) {
    const step = files.length / opts.limit;
    files = Array.from({ length: opts.limit }, (_, i) => files[Math.floor(i * step)]);
  }
  const scan: MaskScan = { masks: 0, gray: 0, paletted: 0, rgb: 0, values: new Map(), colours: new Map(), bad: [] };
  const maxPixels = opts.maxPixels;
  let done = 0;
  await forEachLimit(files.length, opts.concurrency ?? 4, async (i) => {
    const file = files[i];
    try {
      const info = await probeImage(file);
      let counts: Map<number, number> | undefined;
      let colours: Map<number, number> | undefined;
      if (info.isPalette) {
        if (!scan.palette && info.format === 'png') {
          const plte = decodePng(await readFile(file)).palette;
          if (plte) scan.palette = Array.from({ length: plte.length / 3 }, (_, k): RGB => [plte[3 * k], plte[3 * k + 1], plte[3 * k + 2]]);
        }
        counts = valueCounts((await readMask(file, { maxPixels })).data);
        scan.paletted++;
      } else if (info.channels >= 3) {
        const rgb = await readImage(file, { maxPixels });
        const c = new Map<number, number>();
        let colour = false;
        // Runs of one colour are counted once (masks are mostly runs): one map update per run.
        const d = rgb.data;
        let run = -1, len = 0;
        for (let p = 0; p < d.length; p += rgb.channels) {
          const k = (d[p] << 16) | (d[p + 1] << 8) | d[p + 2];
          if (k === run) {
            len++;
            continue;
          }
          if (len > 0) c.set(run, (c.get(run) ?? 0) + len);
          if (!colour && (d[p] !== d[p + 1] || d[p + 1] !== d[p + 2])) colour = true;
          (run = k), (len = 1);
        }
        if (len > 0) c.set(run, (c.get(run) ?? 0) + len);
        if (colour) (colours = c), scan.rgb++;
        else (counts = new Map([...c].map(([k, n]) => [k & 255, n]))), scan.gray++;
      } else {
        counts = valueCounts((await readMask(file, { maxPixels })).data);
        scan.gray++;
      }
      if (counts) for (const [v, n] of counts) add(scan.values, v, n);
      if (colours) for (const [v, n] of colours) add(scan.colours, v, n);
      scan.masks++;
    } catch (e) {
      scan.bad.push({ file, reason: e instanceof BadFileError ? e.reason : (e as Error).message });
    }
    opts.onProgress?.(++done, files.length);
  });
  return scan;
}

/** Value → pixel count of a raw mask's data. */
export function valueCounts(d: Uint8Array | Uint16Array): Map<number, number> {
  const out = new Map<number, number>();
  if (d instanceof Uint8Array) {
    const h = new Float64Array(256);
    for (let i = 0; i < d.length; i++) h[d[i]]++;
    h.forEach((n, v) => n > 0 && out.set(v, n));
  } else for (let i = 0; i < d.length; i++) out.set(d[i], (out.get(d[i]) ?? 0) + 1);
  return out;
}

export type EncodingKind = 'class-ids' | 'gray-values' | 'binary-0/255' | 'binary-0/1' | 'trimap' | 'palette' | 'rgb-voc' | 'rgb' | 'coco' | 'none';

export interface Encoding {
  kind: EncodingKind;
  /** One line: what the masks hold. */
  summary: string;
  /** Why a label map is needed (absent when the values already are train ids 0..K-1). */
  why?: string;
  /** A label map for what was found (class names to edit). */
  labelMap?: LabelMapSpec;
  /** Whether the masks can be used as they are, without a label map. */
  usableAsIs: boolean;
}

const hexOf = (k: number): string => '#' + k.toString(16).padStart(6, '0');
const rgbText = (k: number): string => `(${(k >> 16) & 255},${(k >> 8) & 255},${k & 255})`;
const listOf = (vs: number[], max = 12): string => vs.slice(0, max).join(', ') + (vs.length > max ? `, ... (${vs.length} values)` : '');

/** VOC index → packed colour, and back. */
const VOC_KEY = vocPalette(256).map(([r, g, b]) => (r << 16) | (g << 8) | b);
const VOC_INDEX = new Map(VOC_KEY.map((k, i) => [k, i]));

/** Cityscapes' 19 evaluation classes and their labelIds (cityscapesScripts' labels.py). */
export const CITYSCAPES_CLASSES = ['road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle'];
const CITYSCAPES_IDS = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33];

/** A dataset the layout was recognised as, which fixes the meaning of its mask values. */
export type DatasetHint = 'cityscapes' | 'ade20k';

/** The hint in an opened input's notes ("layout: Cityscapes ..."), if any. */
export function hintFromNotes(notes: readonly string[]): DatasetHint | undefined {
  const layout = notes.find((n) => n.startsWith('layout: ')) ?? '';
  return /Cityscapes/.test(layout) ? 'cityscapes' : /ADE20K/.test(layout) ? 'ade20k' : undefined;
}

/** The encoding of scanned masks and a label map that maps it to contiguous train ids. */
export function detectEncoding(scan: MaskScan, hint?: DatasetHint): Encoding {
  if (scan.masks === 0) return { kind: 'none', summary: 'no mask could be read', usableAsIs: false };
  if (scan.rgb > 0) return colourEncoding(scan);
  const vs = [...scan.values.keys()].sort((a, b) => a - b);
  const set = new Set(vs);
  const only = (...allowed: number[]): boolean => vs.every((v) => allowed.includes(v));
  const n = `${scan.masks} mask${scan.masks > 1 ? 's' : ''}`;
  if (scan.paletted > 0 && scan.paletted === scan.masks) return paletteEncoding(scan, vs);
  if (only(0, 255) && set.has(255)) {
    return {
      kind: 'binary-0/255',
      summary: `binary masks: gray values 0 and 255 in ${n}`,
      why: '255 would be read as the ignore index; the label map reads 0 as background and 255 as foreground',
      labelMap: { binary: '0/255', classes: ['background', 'foreground'] },
      usableAsIs: false,
    };
  }
  if (only(0, 1) && set.has(1)) {
    return { kind: 'binary-0/1', summary: `binary masks: values 0 and 1 in ${n}`, labelMap: { binary: '0/1', classes: ['background', 'foreground'] }, usableAsIs: true };
  }
  if (hint === 'cityscapes' && vs.every((v) => v <= 33 || v === 255)) {
    return {
      kind: 'gray-values',
      summary: `Cityscapes labelIds (${vs.length} values, ${listOf(vs)}) in ${n}`,
      why: 'labelIds are not train ids; the label map gives the 19 official train ids, every other id ignored',
      labelMap: { classes: CITYSCAPES_CLASSES, values: Object.fromEntries(CITYSCAPES_IDS.map((v, i) => [String(v), i])), ignoreIndex: 255, unmapped: 'ignore' },
      usableAsIs: false,
    };
  }
  if (hint === 'ade20k' && vs.every((v) => v <= 150) && set.has(0)) {
    const top = Math.max(...vs);
    return {
      kind: 'gray-values',
      summary: `ADE20K annotations: 0 (other) and classes 1..${top} in ${n}`,
      why: "0 is 'other', not a class; the label map reduces the zero label (0 → ignore, v → v-1), as MMSegmentation does",
      labelMap: { classes: Array.from({ length: Math.max(top, 150) }, (_, i) => `class_${i + 1}`), reduceZeroLabel: true, ignoreIndex: 255 },
      usableAsIs: false,
    };
  }
  if (only(1, 2, 3) && set.has(1) && set.has(2)) {
    return {
      kind: 'trimap',
      summary: `trimaps (Oxford-IIIT Pet): 1 foreground, 2 background${set.has(3) ? ', 3 border' : ''} in ${n}`,
      why: 'values start at 1 and 3 is the uncertain border; the label map gives 2 → 0 background, 1 → 1 foreground, 3 → ignore',
      labelMap: { binary: 'trimap', classes: ['background', 'foreground'], trimapBorder: 'ignore' },
      usableAsIs: false,
    };
  }
  // 255 with other values is the usual ignore value, unless the values are evenly spread up to
  // 255 (0/85/170/255: classes scaled to the gray range).
  const spread = vs.length > 2 && vs[0] === 0 && vs.every((v, i) => v === Math.round((i * 255) / (vs.length - 1)));
  const ignore = set.has(255) && !spread ? 255 : undefined;
  const ids = vs.filter((v) => v !== ignore);
  const contiguous = ids.every((v, i) => v === i);
  const ign = ignore !== undefined ? ` (and ${ignore} as ignore)` : '';
  if (contiguous) {
    return {
      kind: 'class-ids',
      summary: `class ids 0..${ids.length - 1}${ign} in ${n}`,
      labelMap: { classes: ids.map((v) => `class_${v}`), ...(ignore !== undefined ? { ignoreIndex: 255 } : {}) },
      usableAsIs: true,
    };
  }
  return {
    kind: 'gray-values',
    summary: `${ids.length} gray values ${listOf(ids)}${ign} in ${n}: ${ids.length} classes stored as non-contiguous values`,
    why: `train ids must be 0..${ids.length - 1}; without a label map a value such as ${ids.find((v, i) => v !== i)} is out of range (libtorch: "Target ${ids.find((v, i) => v !== i)} is out of bounds")`,
    labelMap: {
      classes: ids.map((v) => `class_${v}`),
      values: Object.fromEntries(ids.map((v, i) => [String(v), i])),
      ...(ignore !== undefined ? { ignoreIndex: 255 } : {}),
    },
    usableAsIs: false,
  };
}

function paletteEncoding(scan: MaskScan, vs: number[]): Encoding {
  const pal = scan.palette ?? [];
  const voc = vocPalette(256);
  const isVoc = vs.every((v) => pal[v] && pal[v][0] === voc[v][0] && pal[v][1] === voc[v][1] && pal[v][2] === voc[v][2]);
  const ignore = vs.includes(255) ? 255 : undefined;
  const ids = vs.filter((v) => v !== ignore);
  const contiguous = ids.every((v, i) => v === i);
  const K = contiguous ? ids.length : ids.length;
  const names = isVoc && ids.every((v) => v < 21) ? VOC_CLASSES.slice(0, Math.max(...ids) + 1) : undefined;
  const n = `${scan.masks} palette PNG${scan.masks > 1 ? 's' : ''}`;
  if (names) {
    // VOC: the palette indices are the train ids; classes absent from the data keep their id.
    return {
      kind: 'palette',
      summary: `palette PNGs with the VOC colours: indices ${listOf(ids)}${ignore !== undefined ? ' and 255 (border, ignore)' : ''} in ${n}`,
      labelMap: { classes: names, ignoreIndex: 255 },
      usableAsIs: true,
    };
  }
  const palette = ids.map((v) => (pal[v] ? hexOf((pal[v][0] << 16) | (pal[v][1] << 8) | pal[v][2]) : '#000000'));
  return {
    kind: 'palette',
    summary: `palette PNGs: indices ${listOf(ids)}${ignore !== undefined ? ' (and 255 as ignore)' : ''} in ${n}${contiguous ? '' : ', not contiguous'}`,
    ...(contiguous ? {} : { why: `train ids must be 0..${K - 1}; the label map renumbers the indices` }),
    labelMap: {
      classes: ids.map((v) => `class_${v}`),
      ...(contiguous ? {} : { values: Object.fromEntries(ids.map((v, i) => [String(v), i])) }),
      palette,
      ...(ignore !== undefined ? { ignoreIndex: 255 } : {}),
    },
    usableAsIs: contiguous,
  };
}

const BORDER = (224 << 16) | (224 << 8) | 192; // VOC's object border / void colour

function colourEncoding(scan: MaskScan): Encoding {
  const cs = [...scan.colours.keys()];
  const n = `${scan.masks} mask${scan.masks > 1 ? 's' : ''}`;
  if (cs.every((k) => VOC_INDEX.has(k) && (VOC_INDEX.get(k)! < 21 || k === BORDER))) {
    const ids = cs.filter((k) => k !== BORDER).map((k) => VOC_INDEX.get(k)!).sort((a, b) => a - b);
    return {
      kind: 'rgb-voc',
      summary: `RGB colour masks in the VOC colours: ${ids.map((i) => `${VOC_CLASSES[i]} ${rgbText(VOC_KEY[i])}`).slice(0, 8).join(', ')}${ids.length > 8 ? ', ...' : ''}${cs.includes(BORDER) ? ', border (224,224,192) as ignore' : ''} in ${n}`,
      why: 'colour masks are read with maskMode rgb and a label map giving each colour its train id',
      // The classes found, numbered 0..K-1 (all 21 VOC classes: their VOC ids), in VOC colours.
      labelMap: {
        classes: ids.map((i) => VOC_CLASSES[i]),
        colors: [...ids.map((i, id) => ({ color: hexOf(VOC_KEY[i]), id })), ...(cs.includes(BORDER) ? [{ color: hexOf(BORDER), id: 255 }] : [])],
        palette: ids.map((i) => hexOf(VOC_KEY[i])),
        ignoreIndex: 255,
      },
      usableAsIs: false,
    };
  }
  // Any other colours: black first (background), then by pixel count.
  const order = cs.sort((a, b) => (a === 0 ? -1 : b === 0 ? 1 : scan.colours.get(b)!.pixels - scan.colours.get(a)!.pixels));
  const many = order.length > 64;
  return {
    kind: 'rgb',
    summary: `RGB colour masks with ${order.length} colours${many ? ' (too many for class colours: JPEG or resized masks?)' : ''}: ${order.slice(0, 8).map(rgbText).join(', ')}${order.length > 8 ? ', ...' : ''} in ${n}`,
    why: 'colour masks are read with maskMode rgb and a label map giving each colour its train id',
    labelMap: {
      classes: order.map((_, i) => `class_${i}`),
      colors: order.map((k, i) => ({ color: hexOf(k), id: i })),
      palette: order.map(hexOf),
    },
    usableAsIs: false,
  };
}

/** The label map as JSON, one key a line (colours one a line), class names first: what
 *  `segkit labelmap` writes and the doctor prints. */
export function labelMapJson(lm: LabelMapSpec): string {
  const order = ['classes', 'binary', 'trimapBorder', 'values', 'colors', 'palette', 'ignoreIndex', 'reduceZeroLabel', 'unmapped'] as const;
  const compact = (v: unknown): string => JSON.stringify(v).replace(/,(?=["\[{\d#-])/g, ', ').replace(/":/g, '": ');
  const lines: string[] = [];
  for (const k of order) {
    const v = lm[k];
    if (v === undefined) continue;
    if (k === 'colors' && Array.isArray(v) && v.length > 1) lines.push(`  "colors": [\n${v.map((c) => `    ${compact(c)}`).join(',\n')}\n  ]`);
    else lines.push(`  "${k}": ${compact(v)}`);
  }
  return `{\n${lines.join(',\n')}\n}\n`;
}
