import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureShapes, generateShapes, insideShape, shapesSource, type ShapeGeometry } from '../../src/data/bundled.js';
import { SegDataset } from '../../src/data/dataset.js';
import { cocoSource } from '../../src/data/sources/coco.js';
import { readImage, readMask } from '../../src/io/image.js';
import { rleDecode, rleFromString } from '../../src/data/sources/rle.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'segkit-shapes-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const filesOf = (dir: string): Map<string, Buffer> => {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.set(rel + e.name, readFileSync(join(d, e.name)));
    }
  };
  walk(dir, '');
  return out;
};

test('same seed → identical bytes; another seed → other images', async () => {
  await withTmp(async (tmp) => {
    const opts = { count: 6, size: 64 };
    const a = filesOf(await generateShapes({ ...opts, dir: join(tmp, 'a'), seed: 5 }));
    const b = filesOf(await generateShapes({ ...opts, dir: join(tmp, 'b'), seed: 5 }));
    const c = filesOf(await generateShapes({ ...opts, dir: join(tmp, 'c'), seed: 6 }));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    assert.equal(a.size, 3 * 6 + 3); // images, masks, instances + annotations, classes, stamp
    for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} differs between runs`);
    assert.ok(!a.get('images/0000.png')!.equals(c.get('images/0000.png')!));
    // A scene does not depend on how many are generated.
    const d = filesOf(await generateShapes({ ...opts, count: 2, dir: join(tmp, 'd'), seed: 5 }));
    assert.ok(d.get('images/0001.png')!.equals(a.get('images/0001.png')!));
  });
});

test('masks, instance masks and COCO annotations match the drawn shapes', async () => {
  await withTmp(async (tmp) => {
    const S = 96;
    const dir = await generateShapes({ dir: join(tmp, 's'), count: 8, size: S, seed: 1 });
    const coco = JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8'));
    assert.deepEqual(coco.categories.map((c: { id: number; name: string }) => [c.id, c.name]), [[1, 'circle'], [2, 'square'], [3, 'triangle']]);
    let objects = 0;
    for (const img of coco.images) {
      const stem = img.file_name.replace('images/', '').replace('.png', '');
      const image = await readImage(join(dir, img.file_name));
      const sem = (await readMask(join(dir, 'masks', `${stem}.png`))).data;
      const inst = (await readMask(join(dir, 'instances', `${stem}.png`))).data;
      const anns = coco.annotations.filter((a: { image_id: number }) => a.image_id === img.id);
      assert.ok(anns.length >= 1 && anns.length <= 4);
      // Expected from the geometry alone: the last shape containing a pixel centre owns it.
      const owner = new Uint8Array(S * S);
      anns.forEach((a: { shape: ShapeGeometry }, k: number) => {
        for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (insideShape(a.shape, x + 0.5, y + 0.5)) owner[y * S + x] = k + 1;
      });
      assert.deepEqual(inst, owner, `${stem}: instance mask`);
      for (let i = 0; i < S * S; i++) assert.equal(sem[i], owner[i] ? anns[owner[i] - 1].category_id : 0);
      anns.forEach((a: { segmentation: { counts: string }; area: number; bbox: number[]; color: number[] }, k: number) => {
        objects++;
        const m = rleDecode({ size: [S, S], counts: rleFromString(a.segmentation.counts) });
        let area = 0, sum = [0, 0, 0];
        for (let i = 0; i < S * S; i++) {
          assert.equal(m[i], owner[i] === k + 1 ? 1 : 0);
          if (!m[i]) continue;
          area++;
          sum = sum.map((v, c) => v + image.data[3 * i + c]);
        }
        assert.equal(a.area, area);
        assert.ok(area >= 16);
        // The image really shows the object there: mean colour near its fill colour (shading ±7.5 %, noise).
        sum.forEach((v, c) => assert.ok(Math.abs(v / area - a.color[c]) < 0.1 * a.color[c] + 4, `${stem} object ${k} channel ${c}`));
        const [bx, by, bw, bh] = a.bbox;
        for (let i = 0; i < S * S; i++) if (m[i]) assert.ok(i % S >= bx && i % S < bx + bw && Math.floor(i / S) >= by && Math.floor(i / S) < by + bh);
      });
    }
    assert.ok(objects >= 8);
    // Read back through both sources: COCO rendering equals the semantic PNGs.
    const viaCoco = new SegDataset(await cocoSource({ annotations: join(dir, 'annotations.json') }));
    const viaMasks = new SegDataset(await shapesSource(dir));
    assert.deepEqual(viaCoco.classes, viaMasks.classes);
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await viaCoco.get(i), await viaMasks.get(i)];
      assert.deepEqual(a.mask!.data, b.mask!.data);
      assert.deepEqual(a.image.data, b.image.data);
    }
  });
});

test('the default dataset (48 images, 128 px) generates in well under 10 s', async () => {
  await withTmp(async (tmp) => {
    const t0 = performance.now();
    const dir = await generateShapes({ dir: join(tmp, 'shapes') });
    const s = (performance.now() - t0) / 1000;
    assert.ok(s < 10, `took ${s.toFixed(2)} s`);
    assert.equal(readdirSync(join(dir, 'images')).length, 48);
    assert.equal((await readImage(join(dir, 'images', '0047.png'))).width, 128);
    console.log(`# shapes: 48 images 128x128 generated in ${s.toFixed(2)} s`);
  });
});

test('ensureShapes reuses a matching folder and never overwrites a foreign one', async () => {
  await withTmp(async (tmp) => {
    const dir = join(tmp, 'shapes');
    await ensureShapes({ dir, count: 2, size: 32 });
    const marker = join(dir, 'images', 'keep.txt');
    await writeFile(marker, 'x');
    await ensureShapes({ dir, count: 2, size: 32 }); // same options: untouched
    assert.ok(readdirSync(join(dir, 'images')).includes('keep.txt'));
    await ensureShapes({ dir, count: 3, size: 32 }); // other options: regenerated
    assert.deepEqual(readdirSync(join(dir, 'images')).sort(), ['0000.png', '0001.png', '0002.png']);
    const foreign = join(tmp, 'mine');
    await mkdir(foreign);
    await assert.rejects(generateShapes({ dir: foreign }), /exists and was not generated by segkit/);
  });
});
