// The README's example runs as written (through the package's own exports) and leaks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';

test('the README example runs and ends with no live tensors', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A taste'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has no js block under "## A taste"');
  // inside the package folder, so `import 'segkit'` resolves to this checkout
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'taste.mjs');
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^step 0: loss \d/);
  assert.equal(lines.at(-1), '0', `the example leaked: ${r.stdout}`);
});
