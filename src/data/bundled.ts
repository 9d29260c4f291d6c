// The bundled "shapes" dataset: scenes of circles, squares and triangles on textured
// backgrounds, generated deterministically from a seed (a counter-based PRNG, only + - * / and
// sqrt, so the bytes are the same on every machine), so demos and tests run offline.
// Layout: images/NNNN.png, masks/NNNN.png (train ids), instances/NNNN.png (instance ids, 0 =
// none), annotations.json (COCO, compressed RLE of the visible parts), labelmap.json (classes and palette:
// the data commands pick it up from the folder).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encodePng } from '../io/png.js';
import type { DatasetSpec } from './dataset.js';
import type { LabelMapSpec } from './labelmap.js';
import { folderSource } from './sources/folders.js';
import { rleEncode, rleToString } from './sources/rle.js';

export const SHAPE_CLASSES = ['background', 'circle', 'square', 'triangle'] as const;
export const SHAPES_LABEL_MAP: LabelMapSpec = {
  classes: [...SHAPE_CLASSES],
  palette: [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]],
};
const STAMP = 'shapes.json';
const VERSION = 2; // bump when the drawing changes, so old folders are regenerated

export interface ShapesOptions {
  /** Output folder. Default 'data/shapes' (relative to the working directory). */
  dir?: string;
  seed?: number;
  /** Number of images. Default 48. */
  count?: number;
  /** Side of the square images in pixels. Default 128. */
  size?: number;
  /** Objects per image, inclusive range. Default [1, 4]. */
  objects?: [number, number];
}

/** Geometry of one drawn object, in pixel units (pixel (x, y) covers [x, x+1) x [y, y+1)). */
export type ShapeGeometry =
  | { kind: 'circle'; cx: number; cy: number; r: number }
  | { kind: 'square'; cx: number; cy: number; half: number; c: number; s: number } // rotation (c, s) = (cos, sin)
  | { kind: 'triangle'; points: [number, number][] };

/** Is the pixel centre (px, py) inside the shape? The one rule the drawing and the masks share. */
export function insideShape(g: ShapeGeometry, px: number, py: number): boolean {
  if (g.kind === 'circle') {
    const dx = px - g.cx, dy = py - g.cy;
    return dx * dx + dy * dy <= g.r * g.r;
  }
  if (g.kind === 'square') {
    const dx = px - g.cx, dy = py - g.cy;
    return Math.abs(dx * g.c + dy * g.s) <= g.half && Math.abs(-dx * g.s + dy * g.c) <= g.half;
  }
  const [a, b, c] = g.points;
  const e = (p: [number, number], q: [number, number]) => (q[0] - p[0]) * (py - p[1]) - (q[1] - p[1]) * (px - p[0]);
  const e0 = e(a, b), e1 = e(b, c), e2 = e(c, a);
  return (e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0);
}

/** splitmix32-style generator: uniform floats in [0, 1), fully determined by the seed. */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export interface ShapeScene {
  image: Uint8Array; // (S, S, 3)
  semantic: Uint8Array; // (S, S) train ids
  instance: Uint8Array; // (S, S) 1..N in drawing order, 0 background
  objects: Array<{ label: number; geometry: ShapeGeometry; color: [number, number, number] }>;
}

/** Draw scene `index` of a seed. Scenes are independent of how many are generated. */
export function drawScene(seed: number, index: number, size: number, objects: [number, number] = [1, 4]): ShapeScene {
  const rng = makeRng((Math.imul(seed >>> 0, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1)) >>> 0);
  const S = size;
  const image = new Uint8Array(S * S * 3);
  paintBackground(image, S, rng);
  for (let attempt = 0; ; attempt++) {
    const n = objects[0] + Math.floor(rng() * (objects[1] - objects[0] + 1));
    const objs: ShapeScene['objects'] = [];
    for (let k = 0; k < n; k++) objs.push(randomObject(S, rng));
    // Rasterise: later objects cover earlier ones.
    const instance = new Uint8Array(S * S);
    const full = objs.map(() => 0);
    objs.forEach((o, k) => {
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (insideShape(o.geometry, x + 0.5, y + 0.5)) (instance[y * S + x] = k + 1), full[k]++;
    });
    const visible = objs.map(() => 0);
    for (const v of instance) if (v) visible[v - 1]++;
    // Every object must stay clearly visible, or the scene is drawn again (deterministically).
    if (attempt < 20 && visible.some((v, k) => v < 16 || v < 0.4 * full[k])) continue;
    const semantic = new Uint8Array(S * S);
    for (let i = 0; i < S * S; i++) {
      const k = instance[i];
      if (!k) continue;
      const o = objs[k - 1];
      semantic[i] = o.label;
      // Flat colour with a soft vertical shading, so objects are not perfectly uniform.
      const shade = 1 + 0.15 * ((Math.floor(i / S) / S) - 0.5);
      for (let c = 0; c < 3; c++) image[3 * i + c] = clamp255(o.color[c] * shade);
    }
    addNoise(image, rng, 6);
    return { image, semantic, instance, objects: objs };
  }
}

function randomObject(S: number, rng: () => number): ShapeScene['objects'][number] {
  const label = 1 + Math.floor(rng() * 3);
  const r = S * (0.08 + 0.14 * rng()); // circumradius-ish
  const cx = r + rng() * (S - 2 * r), cy = r + rng() * (S - 2 * r);
  const color: [number, number, number] = [40 + Math.floor(rng() * 216), 40 + Math.floor(rng() * 216), 40 + Math.floor(rng() * 216)];
  // A random direction from two uniforms (no trig, so results are bit-exact everywhere).
  let dx = rng() - 0.5, dy = rng() - 0.5;
  const len = Math.sqrt(dx * dx + dy * dy) || 1;
  (dx /= len), (dy /= len);
  let geometry: ShapeGeometry;
  if (label === 1) geometry = { kind: 'circle', cx, cy, r };
  else if (label === 2) geometry = { kind: 'square', cx, cy, half: r / Math.SQRT2, c: dx, s: dy };
  else {
    const h = Math.sqrt(3) / 2; // rotate by 120 degrees: cos = -1/2, sin = sqrt(3)/2
    const v1: [number, number] = [-0.5 * dx - h * dy, h * dx - 0.5 * dy];
    const v2: [number, number] = [-0.5 * dx + h * dy, -h * dx - 0.5 * dy];
    geometry = { kind: 'triangle', points: [[cx + r * dx, cy + r * dy], [cx + r * v1[0], cy + r * v1[1]], [cx + r * v2[0], cy + r * v2[1]]] };
  }
  return { label, geometry, color };
}

// Textures: value noise, a linear gradient, stripes or a checkerboard, in muted colours.
function paintBackground(img: Uint8Array, S: number, rng: () => number): void {
  const kind = Math.floor(rng() * 4);
  const c0 = [0, 1, 2].map(() => 60 + rng() * 120), c1 = [0, 1, 2].map(() => 60 + rng() * 120);
  let dx = rng() - 0.5, dy = rng() - 0.5;
  const len = Math.sqrt(dx * dx + dy * dy) || 1;
  (dx /= len), (dy /= len);
  const period = 6 + rng() * 18;
  const G = 5; // value-noise grid
  const grid = Array.from({ length: (G + 1) * (G + 1) }, () => rng());
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let t: number;
      if (kind === 0) {
        const gx = (x / S) * G, gy = (y / S) * G;
        const ix = Math.floor(gx), iy = Math.floor(gy), fx = gx - ix, fy = gy - iy;
        const at = (i: number, j: number) => grid[j * (G + 1) + i];
        t = (at(ix, iy) * (1 - fx) + at(ix + 1, iy) * fx) * (1 - fy) + (at(ix, iy + 1) * (1 - fx) + at(ix + 1, iy + 1) * fx) * fy;
      } else if (kind === 1) t = ((x - S / 2) * dx + (y - S / 2) * dy) / S + 0.5;
      else if (kind === 2) t = Math.floor(((x * dx + y * dy) / period) + 1000) % 2 === 0 ? 0.2 : 0.8;
      else t = (Math.floor(x / period) + Math.floor(y / period)) % 2 === 0 ? 0.25 : 0.75;
      const p = 3 * (y * S + x);
      for (let c = 0; c < 3; c++) img[p + c] = clamp255(c0[c] * (1 - t) + c1[c] * t);
    }
  }
}

function addNoise(img: Uint8Array, rng: () => number, amp: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp255(img[i] + (rng() + rng() + rng() - 1.5) * amp);
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Tight COCO box [x, y, w, h] of a row-major 0/1 mask. */
function maskBox(m: Uint8Array, S: number): [number, number, number, number] {
  let x0 = S, y0 = S, x1 = -1, y1 = -1;
  for (let i = 0; i < m.length; i++) {
    if (!m[i]) continue;
    const y = Math.floor(i / S), x = i - y * S;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** Generate the shapes dataset into `dir` (replacing an earlier generated copy). Returns its folder. */
export async function generateShapes(opts: ShapesOptions = {}): Promise<string> {
  const dir = resolve(opts.dir ?? 'data/shapes');
  const seed = opts.seed ?? 0, count = opts.count ?? 48, S = opts.size ?? 128;
  const objects = opts.objects ?? [1, 4];
  if (!Number.isInteger(count) || count < 1) throw new Error(`shapes: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(S) || S < 16) throw new Error(`shapes: size must be an integer ≥ 16, got ${S}`);
  if (existsSync(dir) && !existsSync(join(dir, STAMP))) throw new Error(`${dir} exists and was not generated by segkit (no ${STAMP}); choose another folder or remove it`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  for (const sub of ['images', 'masks', 'instances']) await mkdir(join(tmp, sub), { recursive: true });

  const coco = {
    info: { description: `segkit shapes, seed ${seed}`, version: String(VERSION) },
    images: [] as object[],
    annotations: [] as object[],
    categories: SHAPE_CLASSES.slice(1).map((name, i) => ({ id: i + 1, name, supercategory: 'shape' })),
  };
  let annId = 1;
  for (let i = 0; i < count; i++) {
    const name = String(i).padStart(4, '0');
    const scene = drawScene(seed, i, S, objects);
    // synchronous: three small files per image, where awaiting each write left the process idle
    // for half of the run (a thread-pool round trip per file)
    writeFileSync(join(tmp, 'images', `${name}.png`), encodePng({ data: scene.image, width: S, height: S, channels: 3 }));
    writeFileSync(join(tmp, 'masks', `${name}.png`), encodePng({ data: scene.semantic, width: S, height: S, channels: 1 }));
    writeFileSync(join(tmp, 'instances', `${name}.png`), encodePng({ data: scene.instance, width: S, height: S, channels: 1 }));
    coco.images.push({ id: i + 1, file_name: `images/${name}.png`, width: S, height: S });
    scene.objects.forEach((o, k) => {
      const m = new Uint8Array(S * S);
      let area = 0;
      for (let p = 0; p < m.length; p++) if (scene.instance[p] === k + 1) (m[p] = 1), area++;
      const rle = rleEncode(m, S, S);
      coco.annotations.push({
        id: annId++, image_id: i + 1, category_id: o.label, iscrowd: 0, area, bbox: maskBox(m, S),
        segmentation: { size: rle.size, counts: rleToString(rle.counts) },
        shape: o.geometry, color: o.color,
      });
    });
  }
  await writeFile(join(tmp, 'annotations.json'), JSON.stringify(coco));
  await writeFile(join(tmp, 'labelmap.json'), JSON.stringify(SHAPES_LABEL_MAP, null, 1) + '\n');
  await writeFile(join(tmp, STAMP), JSON.stringify({ version: VERSION, seed, count, size: S, objects }) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}

/** The shapes folder, generated first when missing or made with other options. */
export async function ensureShapes(opts: ShapesOptions = {}): Promise<string> {
  const dir = resolve(opts.dir ?? 'data/shapes');
  const want = { version: VERSION, seed: opts.seed ?? 0, count: opts.count ?? 48, size: opts.size ?? 128, objects: opts.objects ?? [1, 4] };
  try {
    if (JSON.stringify(JSON.parse(readFileSync(join(dir, STAMP), 'utf8'))) === JSON.stringify(want)) return dir;
  } catch {
    // missing or unreadable: generate
  }
  return generateShapes(opts);
}

/** Dataset spec of a generated shapes folder (semantic masks with their label map). */
export async function shapesSource(dir: string): Promise<DatasetSpec> {
  const spec = await folderSource({ root: dir, images: 'images', masks: 'masks' });
  return { ...spec, labelMap: SHAPES_LABEL_MAP };
}
