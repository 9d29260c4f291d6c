// Our image ops against torchvision 0.14 on a 3x13x17 uint8 image
// (test/fixtures/data/transforms/gen_transforms.py writes the references).
// Tolerances: brightness/contrast/saturation/hue and Gaussian blur reproduce torchvision's float32
// arithmetic and truncation, so they must match exactly; normalize to 1e-6; bilinear resizes may
// differ by one grey level where float32 rounding lands on the other side of .5 (at most 1% of
// values); flips and quarter turns are exact; a free nearest rotation may pick the other
// neighbour where a source coordinate sits on a half pixel (at most 2% of values).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import type { ImageBuffer, Sample } from '../../src/data/types.js';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  expandedSize,
  flipSample,
  gaussianBlur,
  normalizeImage,
  resampleImage,
  rotateSample,
} from '../../src/data/transforms/index.js';

interface Case {
  op: string;
  args: Record<string, unknown>;
  shape: [number, number, number];
  data: number[];
}
const ref = JSON.parse(readFileSync(fixture('data', 'transforms', 'torchvision.json'), 'utf8')) as {
  image: { shape: [number, number, number]; data: number[] };
  cases: Case[];
};

function fromCHW(shape: [number, number, number], data: number[]): ImageBuffer {
  const [C, H, W] = shape;
  const out = new Uint8Array(C * H * W);
  for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[p * C + c] = data[c * H * W + p]!;
  return { data: out, width: W, height: H, channels: C };
}

const input = fromCHW(ref.image.shape, ref.image.data);
const sample: Sample = { ref: { id: 'tv', imagePath: 'torchvision.json' }, image: input };

function compare(name: string, got: ImageBuffer, want: Case, maxDiff: number, maxFraction: number): void {
  const [C, H, W] = want.shape;
  assert.deepEqual([got.channels, got.height, got.width], [C, H, W], `${name}: shape`);
  const expected = fromCHW(want.shape, want.data).data;
  let off = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got.data[i]! - expected[i]!);
    if (d > 0) off++;
    worst = Math.max(worst, d);
  }
  assert.ok(worst <= maxDiff, `${name}: max |diff| ${worst} > ${maxDiff}`);
  assert.ok(off / expected.length <= maxFraction, `${name}: ${off} of ${expected.length} values differ (> ${maxFraction * 100}%)`);
}

const cases = (op: string) => ref.cases.filter((c) => c.op === op);

test('brightness, contrast, saturation and hue match torchvision exactly', () => {
  const ops: Record<string, (img: ImageBuffer, f: number) => ImageBuffer> = {
    brightness: adjustBrightness,
    contrast: adjustContrast,
    saturation: adjustSaturation,
    hue: adjustHue,
  };
  let n = 0;
  for (const [op, fn] of Object.entries(ops)) {
    for (const c of cases(op)) {
      compare(`${op} ${c.args.factor}`, fn(input, c.args.factor as number), c, 0, 0);
      n++;
    }
  }
  assert.equal(n, 10);
});

test('normalize matches ToTensor + Normalize to float32 precision', () => {
  const [c] = cases('normalize');
  const { mean, std } = c!.args as { mean: number[]; std: number[] };
  const out = normalizeImage(input, { mean, std });
  assert.deepEqual([out.channels, out.height, out.width], c!.shape);
  for (let i = 0; i < c!.data.length; i++) assert.ok(Math.abs(out.data[i]! - c!.data[i]!) <= 1e-6, `value ${i}: ${out.data[i]} vs ${c!.data[i]}`);
});

test('bilinear resize matches torchvision (antialias off and on)', () => {
  const all = cases('resize');
  assert.equal(all.length, 4);
  for (const c of all) {
    const [h, w] = c.args.size as [number, number];
    const out = resampleImage(input, w, h, { x: 0, y: 0, width: w, height: h }, [0, 0, 0], c.args.antialias as boolean);
    compare(`resize ${h}x${w} antialias=${c.args.antialias}`, out, c, 1, 0.01);
  }
});

test('flips and quarter turns are exact', () => {
  compare('hflip', flipSample(sample, true).image, cases('hflip')[0]!, 0, 0);
  compare('vflip', flipSample(sample, false).image, cases('vflip')[0]!, 0, 0);
  for (const c of cases('rotate').filter((c) => (c.args.angle as number) % 90 === 0)) {
    compare(`rotate ${c.args.angle}`, rotateSample(sample, c.args.angle as number, true, { mask: 255 }).image, c, 0, 0);
  }
});

test('free rotation follows torchvision: direction, centre, fill and expanded size', () => {
  const r30 = cases('rotate').find((c) => c.args.angle === 30)!;
  compare('rotate 30 nearest', nearestRotate(30, false, [7, 8, 9]), r30, 255, 0.02);
  const r23 = cases('rotate').find((c) => c.args.angle === -23)!;
  assert.deepEqual(expandedSize(-23, 17, 13), [r23.shape[2], r23.shape[1]]);
  compare('rotate -23 nearest expand', nearestRotate(-23, true, [0, 0, 0]), r23, 255, 0.02);
});

test('gaussian blur matches torchvision', () => {
  const c = cases('gaussian_blur')[0]!;
  compare('gaussian_blur', gaussianBlur(input, c.args.kernel as [number, number], c.args.sigma as [number, number]), c, 0, 0);
});

/** Nearest rotation of the image, done through the mask path (rotatePlane) one channel at a time. */
function nearestRotate(angle: number, expand: boolean, fill: number[]): ImageBuffer {
  let out: ImageBuffer | undefined;
  for (let c = 0; c < 3; c++) {
    const plane = new Uint8Array(input.width * input.height);
    for (let p = 0; p < plane.length; p++) plane[p] = input.data[p * 3 + c]!;
    const s: Sample = { ref: sample.ref, image: input, mask: { data: plane, width: input.width, height: input.height } };
    const m = rotateSample(s, angle, expand, { mask: fill[c]! }).mask!;
    out ??= { data: new Uint8Array(m.width * m.height * 3), width: m.width, height: m.height, channels: 3 };
    for (let p = 0; p < m.data.length; p++) out.data[p * 3 + c] = m.data[p]!;
  }
  return out!;
}
