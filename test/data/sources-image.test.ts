// Image and mask decoding (src/io/image.ts, src/io/png.ts) against fixtures written by PIL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fixture } from '../paths.js';
import { BadFileError, encodeImage, probeImage, readImage, readMask, writeImage } from '../../src/io/image.js';
import { decodePng, encodePng } from '../../src/io/png.js';
import { makeRng } from '../../src/data/bundled.js';

const expected = JSON.parse(readFileSync(fixture('data', 'expected.json'), 'utf8')) as Record<string, unknown[]>;
const flat = (k: string): number[] => (expected[k] as unknown[]).flat(2) as number[];
const f = (...p: string[]) => fixture('data', ...p);

test('palette PNGs yield palette INDICES (8-bit and 4-bit), not colours', async () => {
  const m = await readMask(f('formats', 'palette.png'));
  assert.equal(m.width, 8);
  assert.equal(m.height, 6);
  assert.deepEqual([...m.data], flat('formats/palette'));
  assert.ok(m.data.includes(255) && m.data.includes(15));
  assert.deepEqual([...(await readMask(f('formats', 'palette4.png'))).data], flat('formats/palette4'));
  // Read as an image, the same file gives the palette colours.
  const rgb = await readImage(f('formats', 'palette.png'));
  assert.deepEqual([...rgb.data], flat('formats/palette_rgb'));
});

test('16-bit masks keep their values (PNG and TIFF); 1-bit PNGs give 0/1', async () => {
  for (const file of ['gray16.png', 'gray16.tif']) {
    const m = await readMask(f('formats', file));
    assert.ok(m.data instanceof Uint16Array, file);
    assert.deepEqual([...m.data], flat('formats/gray16'), file);
  }
  const b = await readMask(f('formats', 'bits1.png'));
  assert.deepEqual([...b.data], flat('formats/bits1'));
});

test('8-bit masks from TIFF, lossless WebP and gray-valued RGB PNG', async () => {
  for (const file of ['gray8.tif', 'gray8.webp', 'gray_as_rgb.png']) {
    const m = await readMask(f('formats', file));
    assert.ok(m.data instanceof Uint8Array, file);
    assert.deepEqual([...m.data], flat('formats/gray8'), file);
  }
});

test('a colour mask read as ids is refused with the fix', async () => {
  await assert.rejects(readMask(f('formats', 'color_mask.png')), /color_mask\.png: this mask is a colour image .* maskMode 'rgb'/);
});

test('images decode to 8-bit RGB in every format, alpha dropped unless asked', async () => {
  const want = flat('formats/image');
  for (const file of ['image.png', 'image.tif', 'image.webp', 'image_rgba.png']) {
    const im = await readImage(f('formats', file));
    assert.equal(im.channels, 3, file);
    assert.deepEqual([...im.data], want, file);
  }
  const rgba = await readImage(f('formats', 'image_rgba.png'), { channels: 4 });
  assert.equal(rgba.channels, 4);
  assert.equal(rgba.data[3], 128);
  const gray = await readImage(f('formats', 'image_gray.png'));
  assert.equal(gray.channels, 3);
  const red = want.filter((_, i) => i % 3 === 0);
  for (let i = 0; i < red.length; i++) for (let c = 0; c < 3; c++) assert.equal(gray.data[3 * i + c], red[i]);
  // JPEG: libjpeg-turbo in both, PIL's decode is the reference (tiny IDCT/upsampling differences allowed).
  const jpg = await readImage(f('formats', 'image.jpg'));
  const ref = flat('formats/image_jpg');
  const maxDiff = ref.reduce((m, v, i) => Math.max(m, Math.abs(v - jpg.data[i])), 0);
  assert.ok(maxDiff <= 2, `JPEG differs from PIL by ${maxDiff}`);
});

test('probeImage reads the header only', async () => {
  assert.deepEqual(await probeImage(f('formats', 'gray16.png')), { format: 'png', width: 7, height: 5, channels: 1, bitDepth: 16, isPalette: false });
  const p = await probeImage(f('formats', 'palette.png'));
  assert.equal(p.isPalette, true);
  const t = await probeImage(f('formats', 'gray16.tif'));
  assert.deepEqual([t.format, t.width, t.height, t.bitDepth], ['tiff', 7, 5, 16]);
});

test('bad files: each error is a BadFileError naming the file and the problem', async () => {
  const cases: Array<[string, RegExp]> = [
    ['empty.png', /empty file \(0 bytes\)/],
    ['truncated.png', /truncated|corrupt/],
    ['truncated.jpg', /premature end|corrupt|truncated/],
    ['corrupt.png', /corrupt/],
    ['misnamed.png', /holds JPEG data but is named \.png; rename it to \.jpg/],
    ['text.png', /not a PNG, JPEG, WebP or TIFF image/],
    ['missing.png', /file not found/],
  ];
  for (const [name, re] of cases) {
    for (const read of [readImage, readMask]) {
      await assert.rejects(read(f('bad', name)), (e: Error) => {
        assert.ok(e instanceof BadFileError, `${name}: ${e.message}`);
        assert.equal(e.file, f('bad', name));
        assert.ok(e.message.startsWith(f('bad', name)), e.message);
        assert.match(e.message, re);
        return true;
      });
    }
  }
  // Truncated PNGs are caught by our decoder with the reason.
  await assert.rejects(readMask(f('bad', 'truncated.png')), /truncated: chunk IDAT runs past the end/);
  await assert.rejects(readMask(f('bad', 'corrupt.png')), /CRC mismatch in chunk IDAT/);
});

test('images above the pixel limit are refused from the header, before decoding', async () => {
  // huge.png declares 20000 x 20000 but holds no pixel data at all: only the header is read.
  for (const read of [readImage, readMask]) {
    await assert.rejects(read(f('bad', 'huge.png')), /20000x20000 = 400000000 pixels is above the limit of 268402689/);
  }
  for (const file of ['image.jpg', 'image.webp', 'image.tif', 'image.png']) {
    await assert.rejects(readImage(f('formats', file), { maxPixels: 47 }), /8x6 = 48 pixels is above the limit of 47/);
  }
  assert.equal((await readImage(f('formats', 'image.png'), { maxPixels: 48 })).width, 8);
});

test('our PNG encoder round-trips gray8, gray16, palette, RGB, RGBA (checked with sharp as an independent decoder)', async () => {
  const rng = makeRng(3);
  const W = 13, H = 7;
  const rnd = (n: number, max: number) => Array.from({ length: n }, () => Math.floor(rng() * max));
  const cases = [
    { data: Uint8Array.from(rnd(W * H, 256)), channels: 1 as const },
    { data: Uint16Array.from(rnd(W * H, 65536)), channels: 1 as const },
    { data: Uint8Array.from(rnd(W * H * 3, 256)), channels: 3 as const },
    { data: Uint8Array.from(rnd(W * H * 4, 256)), channels: 4 as const },
  ];
  for (const c of cases) {
    const png = encodePng({ ...c, width: W, height: H });
    assert.deepEqual(decodePng(png).samples, c.data);
    if (c.data instanceof Uint8Array && c.channels !== 1) {
      const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual(new Uint8Array(data), c.data);
    }
    if (c.data instanceof Uint16Array) {
      const { data } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      assert.deepEqual(new Uint16Array(data.buffer, data.byteOffset, data.length / 2), c.data);
    }
  }
  const idx = Uint8Array.from(rnd(W * H, 3));
  const palette: Array<[number, number, number]> = [[0, 0, 0], [128, 0, 0], [0, 128, 0]];
  const pal = encodePng({ data: idx, width: W, height: H, channels: 1, palette });
  assert.deepEqual(decodePng(pal).samples, idx);
  const { data } = await sharp(pal).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...data], [...idx].flatMap((i) => palette[i]));
});

test('interlaced (Adam7) palette PNGs decode to the same indices', async () => {
  // sharp writes an interlaced palette PNG; its RGB decode must equal PLTE[our indices].
  const rng = makeRng(11);
  const W = 11, H = 9;
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
  const px = Array.from({ length: W * H }, () => colours[Math.floor(rng() * 4)]).flat();
  const png = await sharp(Uint8Array.from(px), { raw: { width: W, height: H, channels: 3 } }).png({ palette: true, progressive: true, dither: 0, colours: 4 }).toBuffer();
  const raw = decodePng(png);
  assert.equal(raw.interlaced, true);
  assert.equal(raw.colorType, 3);
  const viaIndex = [...raw.samples].flatMap((i) => [...raw.palette!.subarray(3 * i, 3 * i + 3)]);
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(viaIndex, [...data]);
});

test('writeImage writes atomically in the format of the extension', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'segkit-img-'));
  try {
    const img = { data: Uint8Array.from(flat('formats/image')), width: 8, height: 6, channels: 3 };
    for (const ext of ['png', 'webp', 'tif', 'jpg']) await writeImage(join(dir, `x.${ext}`), img, { quality: 100 });
    assert.deepEqual([...(await readImage(join(dir, 'x.png'))).data], [...img.data]);
    assert.deepEqual([...(await readImage(join(dir, 'x.tif'))).data], [...img.data]);
    assert.equal((await probeImage(join(dir, 'x.webp'))).format, 'webp');
    assert.equal((await probeImage(join(dir, 'x.jpg'))).format, 'jpeg');
    const mask = { data: Uint16Array.from([0, 1, 500, 65535]), width: 2, height: 2 };
    await writeImage(join(dir, 'm.png'), mask);
    assert.deepEqual([...(await readMask(join(dir, 'm.png'))).data], [0, 1, 500, 65535]);
    await assert.rejects(encodeImage(mask, 'jpeg'), /16-bit data can only be written as PNG/);
    // Same input, same bytes.
    assert.deepEqual(await readFile(join(dir, 'm.png')), await encodeImage(mask, 'png'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
