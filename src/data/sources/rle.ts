// COCO mask encodings, matching the COCO API (pycocotools' maskApi.c) bit for bit:
// run-length counts over the COLUMN-major (Fortran-order) mask, starting with a run of zeros;
// the compressed string form (LEB128-like, 5 bits per char, chars 48..111, deltas from the
// count two places back); polygons rasterised the way rleFrPoly does it.
// Masks given to and returned by this module are row-major (H, W) Uint8Array of 0/1.

export interface Rle {
  size: [number, number]; // [h, w]
  counts: number[];
}

/** Decode run-length counts to a row-major (H, W) 0/1 mask. */
export function rleDecode(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let i = 0, v = 0;
  for (const c of rle.counts) {
    if (i + c > h * w) throw new Error(`RLE counts cover more than the ${h}x${w} = ${h * w} pixels of its size`);
    if (v) for (let k = i; k < i + c; k++) out[(k % h) * w + ((k / h) | 0)] = 1; // column-major index k → (y, x)
    i += c;
    v ^= 1;
  }
  if (i !== h * w) throw new Error(`RLE counts cover ${i} pixels, but its size ${h}x${w} has ${h * w}`);
  return out;
}

/** Encode a row-major (H, W) mask (nonzero = 1) to run-length counts. */
export function rleEncode(mask: Uint8Array, h: number, w: number): Rle {
  const counts: number[] = [];
  let p = 0, c = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] ? 1 : 0;
      if (v !== p) (counts.push(c), (c = 0), (p = v));
      c++;
    }
  }
  counts.push(c);
  return { size: [h, w], counts };
}

/** Counts → the COCO compressed string (rleToString). */
export function rleToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      let c = x & 0x1f; // x may be negative: & works on its two's complement, as in C
      x = Math.floor(x / 32); // arithmetic shift right by 5
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** The COCO compressed string → counts (rleFrString). */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new Error('compressed RLE string ends in the middle of a number');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`compressed RLE string has an invalid character ${JSON.stringify(s[p])} at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign-extend
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * Rasterise one polygon [x0, y0, x1, y1, ...] the way the COCO API does (rleFrPoly): the outline
 * is walked on a 5x upsampled grid, the points where it crosses pixel-centre columns are kept,
 * and each column is filled between successive crossings.
 */
export function polygonToRle(xy: readonly number[], h: number, w: number): Rle {
  const scale = 5;
  const k = xy.length >> 1;
  const x: number[] = [], y: number[] = [];
  for (let j = 0; j < k; j++) x.push(Math.trunc(scale * xy[2 * j] + 0.5)), y.push(Math.trunc(scale * xy[2 * j + 1] + 0.5));
  x.push(x[0]), y.push(y[0]);
  // Dense boundary points along every edge.
  const u: number[] = [], v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs), dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) [xs, xe, ys, ye] = [xe, xs, ye, ys];
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs), v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys), u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  // Crossings of pixel-centre columns, downsampled to pixel coordinates.
  const a: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > h ? h : yd);
    a.push(xd * h + yd);
  }
  a.push(h * w);
  a.sort((p, q) => p - q);
  // Successive differences are the runs; zero-length runs merge their neighbours.
  let prev = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  const counts: number[] = [];
  let j = 0;
  counts.push(a[j++]);
  while (j < a.length) {
    if (a[j] > 0) counts.push(a[j++]);
    else {
      j++;
      if (j < a.length) counts[counts.length - 1] += a[j++];
    }
  }
  return { size: [h, w], counts };
}

/** A COCO box [x, y, w, h] as a mask, as the COCO API's frBbox (a 4-point polygon). */
export function bboxToRle(b: readonly number[], h: number, w: number): Rle {
  const [xs, ys] = b, xe = xs + b[2], ye = ys + b[3];
  return polygonToRle([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** Number of foreground pixels. */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let j = 1; j < rle.counts.length; j += 2) a += rle.counts[j];
  return a;
}

export type CocoSegmentation = number[][] | { size: [number, number]; counts: number[] | string };

/**
 * Any COCO segmentation (polygon list, uncompressed RLE, compressed RLE) → row-major 0/1 mask,
 * as the COCO API's annToMask. Polygon parts are united. As frPyObjects, a 4-number "polygon"
 * is a box [x, y, w, h].
 */
export function segmentationToMask(seg: CocoSegmentation, h: number, w: number): Uint8Array {
  if (Array.isArray(seg)) {
    const out = new Uint8Array(h * w);
    for (const poly of seg) {
      if (!Array.isArray(poly) || poly.length < 4 || poly.length % 2 !== 0) throw new Error(`polygon with ${Array.isArray(poly) ? poly.length : 'no'} coordinates; a polygon is [x0, y0, x1, y1, ...] with at least 3 points`);
      const m = rleDecode(poly.length === 4 ? bboxToRle(poly, h, w) : polygonToRle(poly, h, w));
      for (let i = 0; i < m.length; i++) out[i] |= m[i];
    }
    return out;
  }
  const [rh, rw] = seg.size;
  if (rh !== h || rw !== w) throw new Error(`RLE size [${rh}, ${rw}] differs from the image's [${h}, ${w}]`);
  const counts = typeof seg.counts === 'string' ? rleFromString(seg.counts) : seg.counts;
  return rleDecode({ size: [h, w], counts });
}
