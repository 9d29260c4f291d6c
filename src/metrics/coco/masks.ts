// Masks for COCO evaluation, kept as run-length counts (column-major, starting with a run of
// zeros) so IoU never decodes a mask: the annotation → RLE rules of pycocotools' annToRLE and
// frPyObjects, the union of polygon parts, the tight box of a mask, and IoU with crowd regions.
import { bboxToRle, polygonToRle, rleArea, rleFromString, type CocoSegmentation, type Rle } from '../../data/sources/rle.js';

/**
 * A segmentation as pycocotools' annToRLE makes it: polygons rasterised at the image's size and
 * united; an RLE (compressed or not) kept at its own size. Where pycocotools fails (a polygon list
 * starting with a 4-number part, which it passes to frBbox as a list), the 4-number parts are
 * boxes [x, y, w, h], as segkit's COCO reader reads them; an empty polygon list is an empty mask.
 */
export function segmentationToRle(seg: CocoSegmentation, h: number, w: number): Rle {
  if (Array.isArray(seg)) {
    if (seg.length === 0) return { size: [h, w], counts: [h * w] };
    const parts = seg.map((p) => {
      if (!Array.isArray(p) || p.length < 4 || p.length % 2 !== 0) throw new Error(`polygon with ${Array.isArray(p) ? p.length : 'no'} coordinates; a polygon is [x0, y0, x1, y1, ...] with at least 3 points`);
      return p.length === 4 ? bboxToRle(p, h, w) : polygonToRle(p, h, w);
    });
    return parts.length === 1 ? parts[0] : rleUnion(parts);
  }
  if (!seg || !Array.isArray(seg.size) || seg.counts === undefined) throw new Error('segmentation is neither a polygon list nor an RLE {size: [h, w], counts}');
  const [rh, rw] = seg.size;
  const counts = typeof seg.counts === 'string' ? rleFromString(seg.counts) : seg.counts;
  let n = 0;
  for (const c of counts) n += c;
  if (n !== rh * rw) throw new Error(`RLE counts cover ${n} pixels, but its size ${rh}x${rw} has ${rh * rw}`);
  return { size: [rh, rw], counts };
}

/** Union of masks of one size (rleMerge), through a column-major buffer. */
export function rleUnion(rles: readonly Rle[]): Rle {
  const [h, w] = rles[0].size;
  const buf = new Uint8Array(h * w);
  for (const r of rles) {
    if (r.size[0] !== h || r.size[1] !== w) throw new Error(`cannot unite masks of sizes ${h}x${w} and ${r.size[0]}x${r.size[1]}`);
    let i = 0;
    r.counts.forEach((c, j) => {
      if (j % 2) buf.fill(1, i, i + c);
      i += c;
    });
  }
  const counts: number[] = [];
  let p = 0, c = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== p) (counts.push(c), (c = 0), (p = buf[i]));
    c++;
  }
  counts.push(c);
  return { size: [h, w], counts };
}

/** The tight box [x, y, w, h] of a mask, [0, 0, 0, 0] when empty (rleToBbox, including its quirk:
 *  a run that wraps to a next column spans the whole height). */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const [h, w] = rle.size;
  const m = rle.counts.length - (rle.counts.length % 2);
  if (m === 0) return [0, 0, 0, 0];
  let xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (let j = 0; j < m; j++) {
    cc += rle.counts[j];
    const t = cc - (j % 2); // first pixel of a run, or last pixel of a foreground run
    const y = t % h, x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * IoU of every detection box with every gt box, (D, G) row-major, as maskApi's bbIou: for a crowd
 * gt the intersection is divided by the detection's area alone (a detection inside a crowd
 * region scores 1); boxes that do not overlap score 0.
 */
export function boxIou(dt: readonly (readonly number[])[], gt: readonly (readonly number[])[], crowd: ArrayLike<number>): Float64Array {
  const D = dt.length, G = gt.length;
  const out = new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const [gx, gy, gw, gh] = gt[g];
    const ga = gw * gh;
    for (let d = 0; d < D; d++) {
      const [dx, dy, dw, dh] = dt[d];
      const iw = Math.min(dx + dw, gx + gw) - Math.max(dx, gx);
      if (iw <= 0) continue;
      const ih = Math.min(dy + dh, gy + gh) - Math.max(dy, gy);
      if (ih <= 0) continue;
      const i = iw * ih, da = dw * dh;
      out[d * G + g] = i / (crowd[g] ? da : da + ga - i);
    }
  }
  return out;
}

/**
 * Mask IoU, (D, G) row-major, as maskApi's rleIou: pairs whose tight boxes do not overlap score 0
 * without looking at the masks; masks of different sizes score -1 (never a match); for a crowd
 * gt the intersection is divided by the detection's area.
 */
export function maskIou(dt: readonly Rle[], gt: readonly Rle[], crowd: ArrayLike<number>): Float64Array {
  const D = dt.length, G = gt.length;
  const out = boxIou(dt.map(rleToBbox), gt.map(rleToBbox), crowd);
  for (let d = 0; d < D; d++) {
    for (let g = 0; g < G; g++) {
      if (!(out[d * G + g] > 0)) continue;
      const a = dt[d], b = gt[g];
      if (a.size[0] !== b.size[0] || a.size[1] !== b.size[1]) {
        out[d * G + g] = -1;
        continue;
      }
      const [inter, union] = overlap(a.counts, b.counts);
      out[d * G + g] = inter === 0 ? 0 : inter / (crowd[g] ? rleArea(a) : union);
    }
  }
  return out;
}

/** Intersection and union pixel counts of two run lists over the same pixels. */
function overlap(a: readonly number[], b: readonly number[]): [number, number] {
  let ia = 0, ib = 0; // index of the current run
  let ra = a[0] ?? 0, rb = b[0] ?? 0; // pixels left in it
  let inter = 0, union = 0;
  for (;;) {
    while (ra === 0 && ia + 1 < a.length) ra = a[++ia];
    while (rb === 0 && ib + 1 < b.length) rb = b[++ib];
    if (ra === 0 || rb === 0) break;
    const c = Math.min(ra, rb);
    const va = ia % 2, vb = ib % 2; // odd runs are foreground
    if (va || vb) union += c;
    if (va && vb) inter += c;
    ra -= c, rb -= c;
  }
  return [inter, union];
}
