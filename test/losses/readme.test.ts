// The README's "Losses" example runs as written through the package's own exports and leaks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../paths.js';

test("the README's Losses example runs, prints the term names and ends with no live tensors", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Losses')))?.[1];
  assert.ok(code, 'README has no js block under "## Losses"');
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'losses.mjs');
  writeFileSync(path, code);
  const r = spawnSync(process.execPath, [path], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['focal dice aux.focal aux.dice', 'true', '0']);
});
