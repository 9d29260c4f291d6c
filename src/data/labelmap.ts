// Label maps: raw mask values (gray levels, palette indices or RGB colours) → contiguous train
// ids, with class names and a display palette. Compiled once into lookup tables so that mapping
// a mask is one typed-array pass.
import { z } from 'zod';
import type { ImageBuffer, MaskBuffer } from './types.js';

export type RGB = [number, number, number];

/** JSON/YAML description of a label map (the config form; see `labelMapSchema`). */
export interface LabelMapSpec {
  /** Class names by train id. Optional for binary maps (background, foreground). */
  classes?: string[];
  /** Display colours by train id ([r,g,b] or '#rrggbb'); default: the VOC colour map. */
  palette?: Array<RGB | string>;
  /** Train id that losses and metrics skip. Default 255. */
  ignoreIndex?: number;
  /** Raw gray value (or palette index) → train id; keys are decimal strings ("7": 1). */
  values?: Record<string, number>;
  /** Mask colour → train id, for RGB colour masks. Extends the defaults: palette colour i → id i
   *  for every class, and VOC's border colour (224,224,192) → the ignore index. */
  colors?: Array<{ color: RGB | string; id: number }>;
  /** MMSegmentation's reduce_zero_label: 0 → ignore, v → v-1, applied before `values`. */
  reduceZeroLabel?: boolean;
  /** Binary encodings: '0/255' and '0/1' → 0/1; 'trimap' (Oxford-IIIT Pet): 1 fg, 2 bg, 3 border. */
  binary?: '0/255' | '0/1' | 'trimap';
  /** Train id for trimap value 3 (border), or 'ignore'. Default 'ignore'. */
  trimapBorder?: 'ignore' | number;
  /** What to do with a value the map does not cover: 'error' (default) or map it to ignore. */
  unmapped?: 'error' | 'ignore';
}

const colorSchema = z.union([
  z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]),
  z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is [r, g, b] or "#rrggbb"'),
]);
const idSchema = z.number().int().min(0).max(65535);

/** zod schema of `LabelMapSpec` (strict: unknown keys are typos). */
export const labelMapSchema = z
  .strictObject({
    classes: z.array(z.string()).min(1).optional().describe('class names by train id (0, 1, ...); optional for binary maps'),
    palette: z.array(colorSchema).optional().describe("display colours by train id, [r, g, b] or '#rrggbb'; extends the VOC colours"),
    ignoreIndex: idSchema.optional().describe('train id that losses, metrics, padding and previews skip; default 255'),
    values: z.record(z.string().regex(/^\d+$/, 'value keys are integers 0..65535'), idSchema).optional().describe('raw gray value or palette index → train id, e.g. {"0": 0, "74": 1}; default: value v is id v'),
    colors: z.array(z.strictObject({ color: colorSchema, id: idSchema })).optional().describe('colour → train id for RGB masks; extends the defaults (palette colour i → i, VOC border 224,224,192 → ignore)'),
    reduceZeroLabel: z.boolean().optional().describe("MMSegmentation's reduce_zero_label: 0 → ignore, v → v-1, before `values`"),
    binary: z.enum(['0/255', '0/1', 'trimap']).optional().describe("binary encodings: '0/255' and '0/1' → 0/1; 'trimap' (Oxford-IIIT Pet): 2 → 0, 1 → 1, 3 → trimapBorder"),
    trimapBorder: z.union([z.literal('ignore'), idSchema]).optional().describe("train id of trimap value 3 (border), or 'ignore' (default)"),
    unmapped: z.enum(['error', 'ignore']).optional().describe("a value the map does not cover: 'error' (default) or the ignore index"),
  })
  .refine((s) => s.classes !== undefined || s.binary !== undefined, {
    message: 'a label map needs `classes` (names by train id) unless it is `binary`',
  });

/** Validate an untrusted label-map config; the error lists every problem with its path. */
export function parseLabelMap(input: unknown, source = 'label map'): LabelMapSpec {
  const r = labelMapSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return r.data as LabelMapSpec;
}

/** The VOC colour map (bits of the id spread over the high bits of r, g, b); id 255 → 224,224,192. */
export function vocPalette(n = 256): RGB[] {
  const out: RGB[] = [];
  for (let i = 0; i < n; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}

export function parseColor(c: RGB | string): RGB {
  if (typeof c !== 'string') return [c[0], c[1], c[2]];
  const v = parseInt(c.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
/** VOC's object border / void colour in colour masks; read as the ignore index. */
export const VOC_BORDER: RGB = [224, 224, 192];
const pack = (r: number, g: number, b: number): number => (r << 16) | (g << 8) | b;
const UNMAPPED = -1;

/** A compiled label map. Build with `LabelMap.from(spec)`. */
export class LabelMap {
  readonly classes: string[];
  readonly ignoreIndex: number;
  /** Display colours by train id, 256 entries at least (ignore index included). */
  readonly palette: RGB[];
  readonly unmapped: 'error' | 'ignore';
  /** Raw gray value → train id, or -1 when the map does not cover it. */
  readonly grayTable: Int32Array;
  /** Packed 0xRRGGBB → train id. */
  readonly colorTable: Map<number, number>;

  private constructor(readonly spec: LabelMapSpec) {
    const s = spec;
    this.ignoreIndex = s.ignoreIndex ?? 255;
    this.unmapped = s.unmapped ?? 'error';
    const ignore = this.ignoreIndex;
    this.classes = s.classes ?? (s.binary ? ['background', 'foreground'] : []);
    const K = this.classes.length;

    // Gray: raw → (reduce zero label) → values / binary / identity.
    const base = new Int32Array(65536).fill(UNMAPPED);
    if (s.binary === '0/255') (base[0] = 0), (base[255] = 1);
    else if (s.binary === '0/1') (base[0] = 0), (base[1] = 1);
    else if (s.binary === 'trimap') {
      base[1] = 1;
      base[2] = 0;
      base[3] = s.trimapBorder === undefined || s.trimapBorder === 'ignore' ? ignore : s.trimapBorder;
    } else if (s.values) {
      for (const [k, id] of Object.entries(s.values)) base[Number(k)] = id;
    } else {
      for (let v = 0; v < K; v++) base[v] = v;
    }
    // The ignore value passes through unless the encoding gives it a meaning.
    if (base[ignore] === UNMAPPED && s.binary !== '0/255') base[ignore] = ignore;
    const table = new Int32Array(65536);
    for (let v = 0; v < 65536; v++) {
      let r = v;
      if (s.reduceZeroLabel) r = v === 0 || v === ignore ? ignore : v - 1;
      table[v] = r === ignore && s.reduceZeroLabel ? ignore : base[r];
    }
    this.grayTable = table;

    const pal = vocPalette(Math.max(256, K, ignore + 1));
    (s.palette ?? []).forEach((c, i) => (pal[i] = parseColor(c)));
    this.palette = pal;

    // Colour masks: palette colour i → id i for every class, VOC's border colour (224,224,192)
    // → ignore, then `colors`, which extend (and override) these defaults.
    this.colorTable = new Map();
    const pairs = [...this.palette.slice(0, K).map((color, id) => ({ color, id })), { color: VOC_BORDER, id: ignore }, ...(s.colors ?? [])];
    for (const { color, id } of pairs) {
      const [r, g, b] = parseColor(color);
      this.colorTable.set(pack(r, g, b), id);
    }
    for (let v = 0; v < 65536; v++) {
      const id = table[v];
      if (id >= 0 && id !== ignore && id >= K) throw new Error(`label map: value ${v} maps to train id ${id}, but there are only ${K} classes (ids 0..${K - 1}, ignore ${ignore}); add class names or fix the id`);
    }
    for (const id of this.colorTable.values()) {
      if (id !== ignore && id >= K) throw new Error(`label map: a colour maps to train id ${id}, but there are only ${K} classes; add class names or fix the id`);
    }
  }

  static from(spec: LabelMapSpec): LabelMap {
    return new LabelMap(parseLabelMap(spec));
  }

  get numClasses(): number {
    return this.classes.length;
  }

  /** True when every train id (and ignore) fits a Uint8Array. */
  private get fits8(): boolean {
    return this.ignoreIndex < 256 && this.classes.length <= 256;
  }

  /** Raw gray / palette-index mask → train ids. `file` names the mask in errors. */
  mapGray(mask: MaskBuffer, file: string): MaskBuffer {
    const { data, width, height } = mask;
    const out = this.fits8 ? new Uint8Array(data.length) : new Uint16Array(data.length);
    const t = this.grayTable;
    const ignore = this.ignoreIndex;
    let bad: Map<number, number> | undefined;
    for (let i = 0; i < data.length; i++) {
      const id = t[data[i]];
      if (id >= 0) out[i] = id;
      else {
        out[i] = ignore;
        if (this.unmapped === 'error') (bad ??= new Map()).set(data[i], (bad.get(data[i]) ?? 0) + 1);
      }
    }
    if (bad) throw unmappedError(file, [...bad].map(([v, n]) => [String(v), n]), 'values');
    return { data: out, width, height };
  }

  /** RGB colour mask (3 or 4 channels, alpha ignored) → train ids. */
  mapRgb(img: ImageBuffer, file: string): MaskBuffer {
    const { data, width, height, channels } = img;
    if (channels < 3) throw new Error(`${file}: a colour mask needs 3 channels, it has ${channels}; use maskMode 'ids' for gray masks`);
    const n = width * height;
    const out = this.fits8 ? new Uint8Array(n) : new Uint16Array(n);
    const ignore = this.ignoreIndex;
    let lastKey = -1, lastId = UNMAPPED;
    let bad: Map<number, number> | undefined;
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      const key = pack(data[p], data[p + 1], data[p + 2]);
      if (key !== lastKey) (lastKey = key), (lastId = this.colorTable.get(key) ?? UNMAPPED);
      if (lastId >= 0) out[i] = lastId;
      else {
        out[i] = ignore;
        if (this.unmapped === 'error') (bad ??= new Map()).set(key, (bad.get(key) ?? 0) + 1);
      }
    }
    if (bad) {
      const list = [...bad].map(([k, c]): [string, number] => [`(${(k >> 16) & 255},${(k >> 8) & 255},${k & 255})`, c]);
      throw unmappedError(file, list, 'colors');
    }
    return { data: out, width, height };
  }

  /** Train ids → RGB colours for display; ignore gets its palette colour. */
  toColors(mask: MaskBuffer): ImageBuffer {
    const { data, width, height } = mask;
    const out = new Uint8Array(data.length * 3);
    const pal = this.palette;
    for (let i = 0; i < data.length; i++) {
      const c = pal[data[i]] ?? [0, 0, 0];
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    }
    return { data: out, width, height, channels: 3 };
  }
}

function unmappedError(file: string, bad: Array<[string, number]>, key: string): Error {
  bad.sort((a, b) => b[1] - a[1]);
  const shown = bad.slice(0, 8).map(([v, n]) => `${v} (${n} pixels)`).join(', ');
  const more = bad.length > 8 ? ` and ${bad.length - 8} more` : '';
  return new Error(
    `${file}: mask value${bad.length > 1 ? 's' : ''} ${shown}${more} not covered by the label map; ` +
      `add ${bad.length > 1 ? 'them' : 'it'} to \`${key}\` (or the class list), or set unmapped: 'ignore' to map ${bad.length > 1 ? 'them' : 'it'} to the ignore index`,
  );
}

// Label maps are compiled once per spec object (datasets, merged sources and the doctor share it).
const compiledMaps = new WeakMap<LabelMapSpec, LabelMap>();
/** The compiled LabelMap of a spec, built on first use and cached. */
export function compiledLabelMap(spec: LabelMapSpec | undefined): LabelMap | undefined {
  if (!spec) return undefined;
  let lm = compiledMaps.get(spec);
  if (!lm) compiledMaps.set(spec, (lm = LabelMap.from(spec)));
  return lm;
}
