// Builds the native addon against the libtorch that find-libtorch.mjs finds, and records what
// it found in build/libtorch.json. Without libtorch it prints how to install it and stops.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { findLibtorch, HELP } from './find-libtorch.mjs';

if (process.argv.includes('--rpath-flag')) {
  const found = findLibtorch();
  console.log(found?.rpath ? `-Wl,-rpath,${found.rpath}` : '');
  process.exit(0);
}

const found = findLibtorch();
if (!found) {
  console.error(HELP);
  process.exit(1);
}

// Up to date: the addon is newer than its sources and was built against the libtorch found now.
// (npm runs this on every `npm install`; --force rebuilds anyway.)
function upToDate() {
  const addon = 'build/Release/segkit.node';
  if (!existsSync(addon) || !existsSync('build/libtorch.json')) return false;
  const built = statSync(addon).mtimeMs;
  const sources = ['binding.gyp', ...readdirSync('native').map((f) => join('native', f))];
  if (sources.some((f) => statSync(f).mtimeMs > built)) return false;
  const record = JSON.parse(readFileSync('build/libtorch.json', 'utf8'));
  return record.root === found.root && record.lib === found.lib;
}
if (!process.argv.includes('--force') && upToDate()) {
  const rebuild = process.cwd().split(/[\\/]/).includes('node_modules') ? 'npm rebuild segkit' : 'npm run build:native';
  console.log(`segkit native addon is up to date (${rebuild} to rebuild)`);
  process.exit(0);
}

// node-gyp ships with npm; build against the headers of this Node.js (no download).
const nodeBin = dirname(process.execPath);
const gypCandidates = [
  join(nodeBin, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
];
const gyp = gypCandidates.find(existsSync);
if (!gyp) {
  console.error('node-gyp not found next to npm; install it with: npm install -g node-gyp');
  process.exit(1);
}
const nodedir = join(nodeBin, '..');
const args = [gyp, 'rebuild', '-j', 'max'];
if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodedir}`);
// node-gyp is quiet while the compiler runs (about 30-60 s): say what is happening.
console.log(`segkit: building the native addon against libtorch in ${found.root} (${found.source}); this takes about a minute...`);
const started = Date.now();
const ticker = process.stdout.isTTY ? setInterval(() => process.stdout.write(`\rsegkit: compiling... ${Math.round((Date.now() - started) / 1000)} s`), 5000) : undefined;
// spawn (not spawnSync) so the ticker runs while the compiler does.
const status = await new Promise((done) => spawn(process.execPath, args, { stdio: 'inherit' }).on('close', (code) => done(code ?? 1)));
if (ticker) clearInterval(ticker), process.stdout.write('\n');
console.log(`segkit: compiler finished in ${Math.round((Date.now() - started) / 1000)} s (exit ${status})`);
if (status !== 0) process.exit(status);

const { createRequire } = await import('node:module');
const addon = createRequire(import.meta.url)('../build/Release/segkit.node');
const info = addon.buildInfo();
mkdirSync('build', { recursive: true });
const record = { ...found, torchVersion: info.torchVersion, cxx11Abi: info.cxx11Abi, cuda: info.cuda, mkldnn: info.mkldnn };
writeFileSync('build/libtorch.json', JSON.stringify(record, null, 2) + '\n');
console.log(`segkit native addon built against libtorch ${info.torchVersion} from ${found.source} (cuda: ${info.cuda}, cxx11 abi: ${info.cxx11Abi})`);
