// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of
// Sampled Functions", 2012): the squared distance to the nearest pixel of a set, one pass of the
// 1-D lower envelope of parabolas along each column, then along each row. O(H·W), exact, in TS.
// Used for the signed distance maps of boundary.ts.

const INF = 1e20;

/** 1-D squared distance transform of f (length n, read with stride) in place. */
function transform1d(f: Float64Array, offset: number, stride: number, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  const at = (q: number): number => f[offset + q * stride];
  const cross = (q: number, p: number): number => (at(q) + q * q - (at(p) + p * p)) / (2 * q - 2 * p);
  for (let q = 1; q < n; q++) {
    let s = cross(q, v[k]);
    while (s <= z[k]) { // z[0] = -Infinity stops this at k = 0
      k--;
      s = cross(q, v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    d[q] = (q - p) * (q - p) + at(p);
  }
  for (let q = 0; q < n; q++) f[offset + q * stride] = d[q];
}

/**
 * Euclidean distance from every pixel of an H×W grid to the nearest pixel where `inSet` is 1
 * (0 on the set). Infinity everywhere when the set is empty.
 */
export function distanceToSet(inSet: Uint8Array, h: number, w: number): Float64Array {
  const f = new Float64Array(h * w);
  let any = false;
  for (let i = 0; i < h * w; i++) {
    f[i] = inSet[i] ? 0 : INF;
    any ||= inSet[i] === 1;
  }
  if (!any) return f.fill(Infinity);
  const m = Math.max(h, w);
  const d = new Float64Array(m);
  const v = new Int32Array(m);
  const z = new Float64Array(m + 1);
  for (let x = 0; x < w; x++) transform1d(f, x, w, h, d, v, z); // columns
  for (let y = 0; y < h; y++) transform1d(f, y * w, 1, w, d, v, z); // rows
  for (let i = 0; i < h * w; i++) f[i] = Math.sqrt(f[i]);
  return f;
}

/**
 * Kervadec et al.'s signed distance map of a region (their one_hot2dist): outside, the distance to
 * the nearest region pixel; inside, -(distance to the nearest outside pixel - 1), so the region's
 * border pixels get 0. All zeros when the region is empty or covers the whole grid.
 */
export function signedDistance(region: Uint8Array, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const outside = region.map((r) => 1 - r);
  if (!region.includes(1) || !outside.includes(1)) return out;
  const toRegion = distanceToSet(region, h, w);
  const toOutside = distanceToSet(outside, h, w);
  for (let i = 0; i < h * w; i++) out[i] = region[i] ? 1 - toOutside[i] : toRegion[i];
  return out;
}
