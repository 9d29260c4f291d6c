// Fixtures too large to commit (full-size weights), generated at test time by a committed script
// with Debian's torch and cached under .cache/fixtures/<script>-<hash of the script>, so they are
// made once per change of the generator.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixture, repoRoot } from '../paths.js';

export const PYTHON = '/usr/bin/python3';

/**
 * The folder holding the outputs of `script` (relative to test/fixtures) for `names`, running it
 * for the names whose `<name><marker>` file is missing. Fails with the command to run by hand.
 */
export function generated(script: string[], names: string[], marker = '.json'): string {
  const path = fixture(...script);
  const hash = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
  const dir = join(repoRoot, '.cache', 'fixtures', `${script[script.length - 1].replace(/\.py$/, '')}-${hash}`);
  const missing = names.filter((n) => !existsSync(join(dir, n + marker)));
  if (missing.length > 0) {
    const r = spawnSync(PYTHON, [path, dir, ...missing], { encoding: 'utf8', cwd: repoRoot });
    if (r.status !== 0) {
      throw new Error(`generating fixtures with ${PYTHON} ${path} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}\n` +
        'The model parity tests need Debian\'s python3-torch and python3-torchvision (scripts/setup.sh installs them).');
    }
  }
  return dir;
}
