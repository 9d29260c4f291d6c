// Install help: the missing-addon message gives the command that works where segkit is, and the
// package ships its licence and the sources its source maps point at.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { buildCommand, missingAddonMessage } from '../../src/install-help.js';
import { repoRoot } from '../paths.js';

test('a project depending on segkit is told `npm rebuild segkit`; a checkout `npm run build:native`', () => {
  const dep = join('/home/u/app', 'node_modules', 'segkit');
  assert.equal(buildCommand(dep), 'npm rebuild segkit');
  assert.match(missingAddonMessage(join(dep, 'build/Release/segkit.node'), dep), /Run `npm rebuild segkit` in your project .*--ignore-scripts/);
  assert.doesNotMatch(missingAddonMessage(join(dep, 'build/Release/segkit.node'), dep), /build:native/);
  assert.equal(buildCommand('/home/u/src/segkit'), 'npm run build:native');
});

test('the package ships LICENSE, and every source map\'s sources', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = new Set((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path));
  assert.ok(files.has('LICENSE'));
  const maps = [...files].filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length > 10);
  for (const m of maps) {
    const { sources } = JSON.parse(readFileSync(join(repoRoot, m), 'utf8')) as { sources: string[] };
    for (const s of sources) {
      const src = relative(repoRoot, resolve(repoRoot, dirname(m), s));
      assert.ok(files.has(src), `${m} points at ${src}, which the package does not ship`);
    }
  }
});
