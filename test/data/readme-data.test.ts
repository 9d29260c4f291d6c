// The README's data section: its config reference is what the schemas generate, and its data
// API example runs as written on an Oxford Pet-shaped folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../paths.js';
import { withReference } from '../../src/data/config-docs.js';
import { imagePixels, stripes, tempDir, writeJpeg, writePng } from './synth.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

test('the README config reference is generated from the schemas (npm run gen:data-docs)', () => {
  assert.equal(readme, withReference(readme), 'README reference is stale: run npm run build && npm run gen:data-docs');
  assert.match(readme, /\| `trimapBorder` \| "ignore" \\\| integer \|/);
});

test('the README data API example runs on a pets folder with a trimap label map', async () => {
  const section = readme.slice(readme.indexOf('### The data API'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'no js block under "### The data API"');
  const { dir, done } = tempDir();
  try {
    const pets = join(dir, 'pets');
    for (const [k, name] of ['Abyssinian_1', 'Bengal_2', 'beagle_3'].entries()) {
      await writeJpeg(join(pets, 'images', `${name}.jpg`), imagePixels(k));
      await writePng(join(pets, 'annotations', 'trimaps', `${name}.png`), stripes([1, 2, 3, 2], k), 1);
    }
    writeFileSync(join(pets, 'labelmap.json'), JSON.stringify({ classes: ['background', 'pet'], binary: 'trimap' }));
    const out = join(repoRoot, 'dist', 'readme');
    mkdirSync(out, { recursive: true });
    const file = join(out, 'data-api.mjs');
    writeFileSync(file, code.replaceAll("'data/pets'", JSON.stringify(pets)));
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: repoRoot });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'label map found');
    assert.equal(lines[1], "3 [ 'background', 'pet' ]");
    assert.match(lines.at(-1)!, /^\[ \d, 3, 24, 24 \] Set\(\d\) \{ [0-9, ]+ \}$/);
  } finally {
    done();
  }
});
