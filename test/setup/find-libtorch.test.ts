// libtorch discovery: the order LIBTORCH → Python torch → Debian package, what the build records,
// and a clear message (not a compiler error) when LIBTORCH points nowhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

const script = join(repoRoot, 'scripts', 'find-libtorch.mjs');

test('a LIBTORCH that holds no libtorch is refused with the fix', () => {
  const r = spawnSync(process.execPath, [script], { env: { ...process.env, LIBTORCH: '/nonexistent/libtorch' }, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /LIBTORCH=\/nonexistent\/libtorch/);
  assert.match(r.stderr, /include\/ATen\/ATen\.h/);
});

test('a LIBTORCH folder is used before any other install', () => {
  // Debian's python3-torch ships a libtorch-shaped folder (include/, lib/): point LIBTORCH at it
  const root = '/usr/lib/python3/dist-packages/torch';
  if (!existsSync(join(root, 'lib', 'libtorch.so'))) return; // nothing to point at on this machine
  const r = spawnSync(process.execPath, [script], { env: { ...process.env, LIBTORCH: root }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const found = JSON.parse(r.stdout);
  assert.equal(found.source, 'LIBTORCH');
  assert.equal(found.lib, join(root, 'lib'));
});

test('the build recorded the libtorch it linked, matching the running addon', async () => {
  const record = JSON.parse(readFileSync(join(repoRoot, 'build', 'libtorch.json'), 'utf8'));
  const torch = await import('../../src/torch/index.js');
  const info = torch.buildInfo();
  assert.equal(record.torchVersion, info.torchVersion);
  assert.equal(record.cuda, info.cuda);
  assert.equal(typeof record.source, 'string');
});
