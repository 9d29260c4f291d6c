// Downloads into torch.hub's cache, without internet: a loopback server serves a small file whose
// name carries its true SHA-256 prefix. Checked: one download then cache hits, the cache folder
// as torch.hub picks it (compared with torch itself when Debian's python3-torch is there), corrupt,
// cut-off, missing and refused downloads leaving nothing behind, offline mode, the progress bar.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  cachedDownload,
  DownloadUnavailableError,
  hashPrefixOf,
  offlineFromEnv,
  torchHubCheckpointsDir,
} from '../../src/io/download.js';
import { checkLeaksEachTest } from '../leak.js';
import { closedPort, hashedFile, startLoopback, type Loopback } from './loopback.js';

checkLeaksEachTest();

const file = hashedFile('tiny', 300_000); // several network chunks
let server: Loopback;
let root: string;
before(async () => {
  server = await startLoopback();
  server.add(file.name, file.bytes);
  root = mkdtempSync(join(tmpdir(), 'segkit-download-'));
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let dirCount = 0;
/** A fresh, empty folder under the test root. */
const freshDir = (): string => {
  const d = join(root, `d${dirCount++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
/** A fetch that fails the test if it is called. */
const noFetch: typeof fetch = async (input) => assert.fail(`the network was used: ${String(input)}`);
const quiet = { progress: false } as const;

describe('torch.hub cache folder', () => {
  test('TORCH_HOME, else XDG_CACHE_HOME/torch, else ~/.cache/torch; then hub/checkpoints', () => {
    assert.equal(torchHubCheckpointsDir({ TORCH_HOME: '/t', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/t/hub/checkpoints');
    assert.equal(torchHubCheckpointsDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/torch/hub/checkpoints');
    assert.equal(torchHubCheckpointsDir({ HOME: '/h' }), '/h/.cache/torch/hub/checkpoints');
    assert.equal(torchHubCheckpointsDir({ TORCH_HOME: '~/th', HOME: '/h' }), '/h/th/hub/checkpoints');
  });

  test('the same folders as torch.hub itself', (t) => {
    const envs = [{ TORCH_HOME: '/t', XDG_CACHE_HOME: '/x', HOME: '/h' }, { XDG_CACHE_HOME: '/x', HOME: '/h' }, { HOME: '/h' }, { TORCH_HOME: '~/th', HOME: '/h' }];
    const code =
      'import json, os, sys, torch.hub\n' +
      'for env in json.loads(sys.argv[1]):\n' +
      '    for k in ("TORCH_HOME", "XDG_CACHE_HOME", "HOME"): os.environ.pop(k, None)\n' +
      '    os.environ.update(env)\n' +
      '    print(os.path.join(torch.hub.get_dir(), "checkpoints"))\n';
    const r = spawnSync('/usr/bin/python3', ['-c', code, JSON.stringify(envs)], { encoding: 'utf8' });
    if (r.status !== 0) {
      t.skip(`no torch at /usr/bin/python3 to compare with (apt install python3-torch): ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`);
      return;
    }
    assert.deepEqual(envs.map((e) => torchHubCheckpointsDir(e)), r.stdout.trim().split('\n'));
  });

  test('SEGKIT_OFFLINE', () => {
    assert.equal(offlineFromEnv({}), false);
    assert.equal(offlineFromEnv({ SEGKIT_OFFLINE: '0' }), false);
    assert.equal(offlineFromEnv({ SEGKIT_OFFLINE: 'false' }), false);
    assert.equal(offlineFromEnv({ SEGKIT_OFFLINE: '1' }), true);
    assert.equal(offlineFromEnv({ SEGKIT_OFFLINE: 'yes' }), true);
  });
});

test('hash prefixes read as torch.hub reads them', () => {
  assert.equal(hashPrefixOf('resnet50-11ad3fa6.pth'), '11ad3fa6');
  assert.equal(hashPrefixOf('fcn_resnet50_coco-1167a1af.pth'), '1167a1af');
  assert.equal(hashPrefixOf('a-b-0123abcd.pth'), '0123abcd');
  assert.equal(hashPrefixOf('model-0123456789abcdef.safetensors'), '0123456789abcdef');
  assert.equal(hashPrefixOf('weights.pth'), undefined);
  assert.equal(hashPrefixOf('weights-0123456.pth'), undefined, 'under 8 digits is no check');
  assert.equal(hashPrefixOf('weights-.pth'), undefined);
});

describe('cachedDownload', () => {
  test('downloads once, then uses the cache', async () => {
    const cacheDir = freshDir();
    const url = `${server.base}ok/${file.name}`;
    const path = await cachedDownload(url, { cacheDir, ...quiet });
    assert.equal(path, join(cacheDir, file.name));
    assert.deepEqual(new Uint8Array(readFileSync(path)), file.bytes);
    assert.deepEqual(readdirSync(cacheDir), [file.name], 'no temp file left');
    assert.equal(await cachedDownload(url, { cacheDir, ...quiet }), path);
    assert.equal(server.hits.get(`/ok/${file.name}`), 1, 'the second call is served from the cache');
  });

  test('without Content-Length (chunked) the bytes and hash still check out', async () => {
    const cacheDir = freshDir();
    const path = await cachedDownload(`${server.base}chunked/${file.name}`, { cacheDir, ...quiet });
    assert.deepEqual(new Uint8Array(readFileSync(path)), file.bytes);
  });

  for (const [where, env] of [
    ['TORCH_HOME', (d: string) => ({ TORCH_HOME: join(d, 'th'), XDG_CACHE_HOME: join(d, 'no'), HOME: join(d, 'no') })],
    ['XDG_CACHE_HOME', (d: string) => ({ XDG_CACHE_HOME: join(d, 'xdg'), HOME: join(d, 'no') })],
    ['HOME', (d: string) => ({ HOME: join(d, 'home') })],
  ] as const) {
    test(`a file torch already cached under ${where} is used as it is`, async () => {
      const e = env(freshDir());
      const dir = torchHubCheckpointsDir(e);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, file.name), file.bytes);
      const path = await cachedDownload(`https://download.invalid/models/${file.name}`, { env: e, fetch: noFetch, ...quiet });
      assert.equal(path, join(dir, file.name));
      assert.ok(!path.includes(join('no', '')), path);
    });
  }

  test('a corrupt download is refused, naming the URL and both hashes, and nothing is left', async () => {
    const cacheDir = freshDir();
    const url = `${server.base}corrupt/${file.name}`;
    await assert.rejects(cachedDownload(url, { cacheDir, ...quiet }), (e: Error) => {
      assert.ok(e.message.includes(url), e.message);
      assert.match(e.message, new RegExp(`starts with ${file.sha256.slice(0, 8)}`));
      assert.match(e.message, /SHA-256 is [0-9a-f]{64}/);
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test('a download cut off halfway leaves no file', async () => {
    const cacheDir = freshDir();
    await assert.rejects(cachedDownload(`${server.base}truncated/${file.name}`, { cacheDir, ...quiet }), (e: Error) => {
      assert.ok(e instanceof DownloadUnavailableError, e.message);
      assert.match(e.message, /broke off/);
      assert.ok(e.message.includes(join(cacheDir, file.name)), e.message);
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test('HTTP 404: one message with the path to fill and the URL to get it from', async () => {
    const cacheDir = freshDir();
    const url = `${server.base}ok/missing-0123abcd.pth`;
    await assert.rejects(cachedDownload(url, { cacheDir, ...quiet }), (e: Error) => {
      assert.ok(e instanceof DownloadUnavailableError);
      assert.equal(e.file, join(cacheDir, 'missing-0123abcd.pth'));
      assert.equal(e.url, url);
      assert.match(e.message, /HTTP 404/);
      assert.ok(e.message.includes(`Put the file here: ${e.file}`), e.message);
      assert.ok(e.message.includes(`Get it from:       ${url}`), e.message);
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test('connection refused: the same message, naming the cause', async () => {
    const cacheDir = freshDir();
    const url = `http://127.0.0.1:${await closedPort()}/${file.name}`;
    await assert.rejects(cachedDownload(url, { cacheDir, ...quiet }), (e: Error) => {
      assert.ok(e instanceof DownloadUnavailableError);
      assert.match(e.message, /ECONNREFUSED/);
      assert.ok(e.message.includes(join(cacheDir, file.name)), e.message);
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test('SEGKIT_OFFLINE=1 never touches the network', async () => {
    const home = freshDir();
    const env = { HOME: home, SEGKIT_OFFLINE: '1' };
    await assert.rejects(cachedDownload(`${server.base}ok/${file.name}`, { env, fetch: noFetch, ...quiet }), (e: Error) => {
      assert.ok(e instanceof DownloadUnavailableError);
      assert.match(e.message, /SEGKIT_OFFLINE is set/);
      assert.equal(e.file, join(home, '.cache', 'torch', 'hub', 'checkpoints', file.name));
      return true;
    });
    assert.equal(existsSync(join(home, '.cache')), false, 'no folder was made');
  });

  test('offline: true works like SEGKIT_OFFLINE', async () => {
    const cacheDir = freshDir();
    await assert.rejects(cachedDownload(`${server.base}ok/${file.name}`, { cacheDir, offline: true, fetch: noFetch }), /\(offline: the network is not to be used\)/);
  });

  test('a cache folder that cannot be made is named before any download', async () => {
    const blocker = join(freshDir(), 'a-file');
    writeFileSync(blocker, '');
    const cacheDir = join(blocker, 'checkpoints');
    await assert.rejects(cachedDownload(`${server.base}ok/${file.name}`, { cacheDir, fetch: noFetch, ...quiet }), (e: Error) => {
      assert.ok(e.message.startsWith(`cannot write ${file.name} to ${cacheDir} (`), e.message);
      assert.match(e.message, /set TORCH_HOME to a writable folder/);
      return true;
    });
  });

  test('a file name without a hash prefix is refused before any download', async () => {
    await assert.rejects(cachedDownload(`${server.base}ok/plain.pth`, { cacheDir: freshDir(), fetch: noFetch }), /carries no SHA-256 prefix/);
  });
});

describe('progress bar', () => {
  class Sink extends Writable {
    text = '';
    constructor(readonly isTTY: boolean) {
      super();
    }
    columns = 120;
    override _write(chunk: Buffer, _enc: string, done: () => void): void {
      this.text += chunk.toString();
      done();
    }
  }

  test('not a terminal: nothing is drawn and the download works', async () => {
    const sink = new Sink(false);
    const path = await cachedDownload(`${server.base}ok/${file.name}`, { cacheDir: freshDir(), progressStream: sink });
    assert.equal(sink.text, '');
    assert.deepEqual(new Uint8Array(readFileSync(path)), file.bytes);
  });

  test('on a terminal: the file name, MiB received and a full bar at the end', async () => {
    const sink = new Sink(true);
    await cachedDownload(`${server.base}ok/${file.name}`, { cacheDir: freshDir(), progressStream: sink });
    assert.ok(sink.text.includes(file.name), sink.text);
    assert.match(sink.text, /100% \| 0\.3\/0\.3 MiB/);
  });

  test('progress: false keeps a terminal quiet', async () => {
    const sink = new Sink(true);
    await cachedDownload(`${server.base}ok/${file.name}`, { cacheDir: freshDir(), progressStream: sink, progress: false });
    assert.equal(sink.text, '');
  });

  test('a failed download on a terminal ends its bar and still leaves nothing', async () => {
    const sink = new Sink(true);
    const cacheDir = freshDir();
    await assert.rejects(cachedDownload(`${server.base}truncated/${file.name}`, { cacheDir, progressStream: sink }), DownloadUnavailableError);
    assert.ok(sink.text.includes(file.name));
    assert.deepEqual(readdirSync(cacheDir), []);
  });
});
