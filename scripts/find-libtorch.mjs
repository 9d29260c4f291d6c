// Finds libtorch: the LIBTORCH env var, then a Python torch install, then the Debian package.
// Prints what it found as JSON (or one field with --field NAME, for binding.gyp).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const HELP = `segkit needs libtorch (the C++ library of PyTorch) and found none.
Install one of:
  - Debian/Ubuntu:  sudo apt-get install libtorch-dev libopenblas0-pthread
  - pip:            pip install torch   (segkit then uses the libtorch inside it)
  - a libtorch zip from pytorch.org, unpacked anywhere, with LIBTORCH=/path/to/libtorch
Then run: npm rebuild segkit   (in a project that depends on segkit)
      or: npm run build:native  (in a checkout of segkit)`;

function fromRoot(root, source) {
  const include = [join(root, 'include'), join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  const lib = join(root, 'lib');
  if (!existsSync(join(include[0], 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch.so'))) return null;
  return { source, root, include, lib, rpath: lib, abi: detectAbi(lib) };
}

// pip wheels used the pre-C++11 ABI until torch 2.6; read it from the library's symbols.
function detectAbi(lib) {
  const r = spawnSync('sh', ['-c', `nm -D --defined-only ${join(lib, 'libc10.so')} | grep -c 'St7__cxx11'`], { encoding: 'utf8' });
  return Number.parseInt(r.stdout, 10) > 0 ? 1 : 0;
}

function fromPython() {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    const r = spawnSync(py, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const found = fromRoot(r.stdout.trim(), `python torch (${py})`);
    if (found) return found;
  }
  return null;
}

function fromDebian() {
  const lib = '/usr/lib/x86_64-linux-gnu';
  const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim();
  const libdir = multiarch ? `/usr/lib/${multiarch}` : lib;
  if (!existsSync('/usr/include/ATen/ATen.h') || !existsSync(join(libdir, 'libtorch.so'))) return null;
  return { source: 'debian libtorch-dev', root: '/usr', include: ['/usr/include', '/usr/include/torch/csrc/api/include'], lib: libdir, rpath: '', abi: 1 };
}

export function findLibtorch() {
  if (process.env.LIBTORCH) {
    const found = fromRoot(process.env.LIBTORCH, 'LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch.so: point it at an unpacked libtorch folder.`);
    return found;
  }
  return fromPython() ?? fromDebian();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findLibtorch();
  if (!found) {
    console.error(HELP);
    process.exit(1);
  }
  const field = process.argv.indexOf('--field');
  if (field > 0) {
    const v = found[process.argv[field + 1]];
    console.log(Array.isArray(v) ? v.join(' ') : String(v));
  } else {
    console.log(JSON.stringify(found, null, 2));
  }
}
export { HELP };
