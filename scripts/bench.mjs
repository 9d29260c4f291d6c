// `npm run bench -- [args]`: build with tsc, then run dist/bench/main.js with the args.
// tsc emits even when files outside the bench have type errors; those are summarised, not fatal.
// --no-build skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const passed = args.filter((a) => a !== '--no-build');

if (!noBuild) {
  process.stderr.write('bench: building (npx tsc -p .)\n');
  const tsc = spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, encoding: 'utf8' });
  if (tsc.error) {
    process.stderr.write(`bench: could not run npx tsc: ${tsc.error.message}\n`);
    process.exit(2);
  }
  if (tsc.status !== 0) {
    const errors = (tsc.stdout + tsc.stderr).split('\n').filter((l) => /error TS\d+/.test(l));
    const ours = errors.filter((l) => l.startsWith('bench/'));
    process.stderr.write(`bench: tsc reported ${errors.length} error(s), ${ours.length} under bench/; running what was emitted\n`);
    for (const l of ours.slice(0, 10)) process.stderr.write(`  ${l}\n`);
  }
}
const main = join(root, 'dist', 'bench', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`bench: ${main} not found; build with npx tsc -p . (or drop --no-build)\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [main, ...passed], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
