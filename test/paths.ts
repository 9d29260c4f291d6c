// Locate the repository root from a compiled test file (dist/test/...) or a source one.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
/** Path of a committed fixture: test/fixtures/<parts>. */
export const fixture = (...parts: string[]): string => join(repoRoot, 'test', 'fixtures', ...parts);
