// Geometric operations on whole samples: the image, the semantic mask and every instance (box
// and mask) move together. Images are interpolated bilinearly; masks are ALWAYS nearest; pixels
// that come from outside the image take the image fill and, in masks, the ignore index
// (instance masks get 0).
import type { Instance, Sample } from '../types.js';
import { fillValues, resampleImage, resampleImageInto, resamplePlane, resamplePlaneInto, type Window } from './resample.js';
import { expandedSize, flipInterleaved, rot90Interleaved, rotateImage, rotatePlane } from './rotate.js';

export type Box = [number, number, number, number];

export interface Fill {
  /** Image fill: one value for all channels or one per channel (0..255). Default 0. */
  image?: number | readonly number[];
  /** Semantic mask fill, normally the ignore index. */
  mask: number;
}

export function sampleName(s: Sample): string {
  return `sample "${s.ref.id}" (${s.ref.imagePath})`;
}

function checkPlane(s: Sample, what: string, data: { length: number }, w: number, h: number): void {
  if (data.length !== w * h) {
    throw new Error(`${sampleName(s)}: ${what} has ${data.length} values but the image is ${w}x${h}; masks must match the image size`);
  }
}

/** Smallest box holding the nonzero pixels of a plane, or null when it is empty. */
export function boxFromMask(mask: Uint8Array, width: number, height: number): Box | null {
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    const r = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (mask[r + x] !== 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) {
      if (first < x1) x1 = first;
      if (last > x2) x2 = last;
      if (y < y1) y1 = y;
      y2 = y;
    }
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

function countNonzero(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

const boxArea = (b: Box): number => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/** Finish a moved instance: drop it when its box became degenerate or its mask empty, refresh area. */
function settle(inst: Instance, box: Box, mask: Uint8Array | undefined, areaScale: number): Instance | null {
  if (box[2] - box[0] <= 0 || box[3] - box[1] <= 0) return null;
  if (mask) {
    const area = countNonzero(mask);
    if (area === 0) return null;
    const out: Instance = { ...inst, box, mask };
    if (inst.area !== undefined) out.area = area;
    return out;
  }
  const out: Instance = { ...inst, box };
  if (inst.area !== undefined) out.area = inst.area * areaScale;
  return out;
}

function clipBox(b: Box, width: number, height: number): Box {
  return [
    Math.min(Math.max(b[0], 0), width),
    Math.min(Math.max(b[1], 0), height),
    Math.min(Math.max(b[2], 0), width),
    Math.min(Math.max(b[3], 0), height),
  ];
}

/**
 * Resize the sample to outW x outH (virtually) and keep the window `win` of the result, mirrored
 * left-right when `flipX`. Covers resize (win = whole output), crop, pad (window past the edges)
 * and a fused scale + crop + flip.
 */
export function windowSample(s: Sample, outW: number, outH: number, win: Window, fill: Fill, antialias = false, flipX = false): Sample {
  const { width: inW, height: inH, channels } = s.image;
  const image = resampleImage(s.image, outW, outH, win, fillValues(fill.image, channels), antialias, flipX);
  const out: Sample = { ...s, image };
  if (s.mask) {
    checkPlane(s, 'the mask', s.mask.data, inW, inH);
    out.mask = { data: resamplePlane(s.mask.data, inW, inH, outW, outH, win, fill.mask, flipX), width: win.width, height: win.height };
  }
  if (s.instances) out.instances = windowInstances(s, outW, outH, win, flipX);
  return out;
}

/** Where a sample's pixels go when written straight into a batch. */
export interface BatchSink {
  /** Per-channel tables uint8 -> normalised float (normalize.ts). */
  tables: Float32Array[];
  /** Reserve the slot for one C x H x W sample; throws (naming the sample) when it does not fit. */
  claim(s: Sample, C: number, H: number, W: number): { images: Float32Array; imageOffset: number; masks?: Int32Array; maskOffset: number };
}

/**
 * windowSample written straight into a batch: image as normalised CHW floats, mask as int32.
 * Returns the sample's ref and instances; its image is a stub with no pixels (already written).
 */
export function windowSampleInto(s: Sample, outW: number, outH: number, win: Window, fill: Fill, antialias: boolean, flipX: boolean, sink: BatchSink): Sample {
  const { width: inW, height: inH, channels } = s.image;
  if (s.mask) checkPlane(s, 'the mask', s.mask.data, inW, inH);
  const dst = sink.claim(s, channels, win.height, win.width);
  resampleImageInto(s.image, outW, outH, win, fillValues(fill.image, channels), antialias, flipX, sink.tables, dst.images, dst.imageOffset);
  if (s.mask && dst.masks) resamplePlaneInto(s.mask.data, inW, inH, outW, outH, win, fill.mask, flipX, dst.masks, dst.maskOffset);
  const out: Sample = { ref: s.ref, image: { data: new Uint8Array(0), width: win.width, height: win.height, channels } };
  if (s.instances) out.instances = windowInstances(s, outW, outH, win, flipX);
  return out;
}

function windowInstances(s: Sample, outW: number, outH: number, win: Window, flipX: boolean): Instance[] {
  const { width: inW, height: inH } = s.image;
  const sx = outW / inW;
  const sy = outH / inH;
  const moved: Instance[] = [];
  for (const inst of s.instances ?? []) {
    const b = inst.box;
    const scaled: Box = [b[0] * sx - win.x, b[1] * sy - win.y, b[2] * sx - win.x, b[3] * sy - win.y];
    let box = clipBox(scaled, win.width, win.height);
    if (flipX) box = [win.width - box[2], box[1], win.width - box[0], box[3]];
    let mask: Uint8Array | undefined;
    if (inst.mask) {
      checkPlane(s, `the mask of an instance (label ${inst.label})`, inst.mask, inW, inH);
      mask = resamplePlane(inst.mask, inW, inH, outW, outH, win, 0, flipX);
    }
    const full = boxArea(scaled);
    const kept = settle(inst, box, mask, full > 0 ? (sx * sy * boxArea(box)) / full : 0);
    if (kept) moved.push(kept);
  }
  return moved;
}

export function resizeSample(s: Sample, width: number, height: number, fill: Fill, antialias = false): Sample {
  if (width === s.image.width && height === s.image.height) return s;
  return windowSample(s, width, height, { x: 0, y: 0, width, height }, fill, antialias);
}

/** Crop (x, y, width, height) in the current image; parts outside the image are filled. */
export function cropSample(s: Sample, x: number, y: number, width: number, height: number, fill: Fill): Sample {
  return windowSample(s, s.image.width, s.image.height, { x, y, width, height }, fill);
}

export function flipSample(s: Sample, horizontal: boolean): Sample {
  const { width: W, height: H, channels } = s.image;
  const out: Sample = { ...s, image: { ...s.image, data: flipInterleaved(s.image.data, W, H, channels, horizontal) } };
  if (s.mask) {
    checkPlane(s, 'the mask', s.mask.data, W, H);
    out.mask = { ...s.mask, data: flipInterleaved(s.mask.data, W, H, 1, horizontal) };
  }
  if (s.instances) {
    out.instances = s.instances.map((inst) => {
      const b = inst.box;
      const box: Box = horizontal ? [W - b[2], b[1], W - b[0], b[3]] : [b[0], H - b[3], b[2], H - b[1]];
      const moved: Instance = { ...inst, box };
      if (inst.mask) moved.mask = flipInterleaved(inst.mask, W, H, 1, horizontal);
      return moved;
    });
  }
  return out;
}

/** Quarter turns counter-clockwise, exact; the image becomes H wide and W tall for odd k. */
export function rot90Sample(s: Sample, k: number): Sample {
  k = ((k % 4) + 4) % 4;
  if (k === 0) return s;
  const { width: W, height: H, channels } = s.image;
  const r = rot90Interleaved(s.image.data, W, H, channels, k);
  const out: Sample = { ...s, image: { data: r.data, width: r.width, height: r.height, channels } };
  if (s.mask) {
    checkPlane(s, 'the mask', s.mask.data, W, H);
    const m = rot90Interleaved(s.mask.data, W, H, 1, k);
    out.mask = { data: m.data, width: m.width, height: m.height };
  }
  if (s.instances) {
    out.instances = s.instances.map((inst) => {
      const [x1, y1, x2, y2] = inst.box;
      // (x, y) -> k=1: (y, W - x); k=2: (W - x, H - y); k=3: (H - y, x)
      const box: Box = k === 1 ? [y1, W - x2, y2, W - x1] : k === 2 ? [W - x2, H - y2, W - x1, H - y1] : [H - y2, x1, H - y1, x2];
      const moved: Instance = { ...inst, box };
      if (inst.mask) moved.mask = rot90Interleaved(inst.mask, W, H, 1, k).data;
      return moved;
    });
  }
  return out;
}

/**
 * Rotate by `degrees` counter-clockwise about the centre (torchvision's convention). Multiples
 * of 90 are exact pixel permutations; without `expand` the quarter-turned image is centre-cut
 * or padded back to the original size. Other angles: bilinear image, nearest masks; boxes are
 * recomputed from instance masks when present, else the rotated corners' bounding box.
 */
export function rotateSample(s: Sample, degrees: number, expand: boolean, fill: Fill): Sample {
  const { width: W, height: H, channels } = s.image;
  const quarter = degrees / 90;
  if (Math.abs(quarter - Math.round(quarter)) < 1e-9) {
    const k = ((Math.round(quarter) % 4) + 4) % 4;
    const r = rot90Sample(s, k);
    if (expand || (r.image.width === W && r.image.height === H)) return r;
    const x = Math.floor((r.image.width - W) / 2);
    const y = Math.floor((r.image.height - H) / 2);
    return cropSample(r, x, y, W, H, fill);
  }
  const [oW, oH] = expand ? expandedSize(degrees, W, H) : [W, H];
  const out: Sample = { ...s, image: rotateImage(s.image, degrees, oW, oH, fillValues(fill.image, channels)) };
  if (s.mask) {
    checkPlane(s, 'the mask', s.mask.data, W, H);
    out.mask = { data: rotatePlane(s.mask.data, W, H, degrees, oW, oH, fill.mask), width: oW, height: oH };
  }
  if (s.instances) {
    const t = (degrees * Math.PI) / 180;
    const c = Math.cos(t);
    const sn = Math.sin(t);
    const moved: Instance[] = [];
    for (const inst of s.instances) {
      let mask: Uint8Array | undefined;
      let box: Box;
      if (inst.mask) {
        checkPlane(s, `the mask of an instance (label ${inst.label})`, inst.mask, W, H);
        mask = rotatePlane(inst.mask, W, H, degrees, oW, oH, 0);
        const b = boxFromMask(mask, oW, oH);
        if (!b) continue;
        box = b;
      } else {
        const [x1, y1, x2, y2] = inst.box;
        const xs: number[] = [];
        const ys: number[] = [];
        for (const [x, y] of [[x1, y1], [x2, y1], [x1, y2], [x2, y2]] as const) {
          const u = x - W / 2;
          const v = y - H / 2;
          xs.push(c * u + sn * v + oW / 2);
          ys.push(-sn * u + c * v + oH / 2);
        }
        box = clipBox([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], oW, oH);
      }
      const kept = settle(inst, box, mask, 1);
      if (kept) moved.push(kept);
    }
    out.instances = moved;
  }
  return out;
}

export type { Window };
