// resolveWeights without internet: local paths as given, names found in torch.hub's cache with no
// network, and the download path against a loopback server standing in for download.pytorch.org
// (whose bytes cannot match a real file's hash, so a download there must be refused).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadUnavailableError, torchHubCheckpointsDir } from '../../src/io/download.js';
import { resolveWeights } from '../../src/models/resolve-weights.js';
import { checkLeaksEachTest } from '../leak.js';
import { startLoopback, type Loopback } from '../io/loopback.js';

checkLeaksEachTest();

let server: Loopback;
let root: string;
before(async () => {
  server = await startLoopback();
  server.add('resnet18-f37072fd.pth', new Uint8Array(5000).fill(7));
  root = mkdtempSync(join(tmpdir(), 'segkit-resolve-'));
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => {
  const d = join(root, `r${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const noFetch: typeof fetch = async (input) => assert.fail(`the network was used: ${String(input)}`);

test('an existing .pth/.pt/.safetensors path is used as given', async () => {
  const dir = fresh();
  for (const name of ['a.pth', 'b.pt', 'c.safetensors']) {
    const p = join(dir, name);
    writeFileSync(p, 'x');
    assert.equal(await resolveWeights('resnet50', p, { fetch: noFetch }), p);
  }
});

test('paths that are no weights file say so', async () => {
  const dir = fresh();
  await assert.rejects(resolveWeights('resnet50', join(dir, 'missing.pth')), /missing\.pth: no such weights file/);
  await assert.rejects(resolveWeights('resnet50', dir), /is a folder/);
  writeFileSync(join(dir, 'w.txt'), 'x');
  await assert.rejects(resolveWeights('resnet50', join(dir, 'w.txt')), /must be a \.pth, \.pt or \.safetensors file \(got "\.txt"\)/);
  await assert.rejects(resolveWeights('resnet50', 'IMAGENET_V9'), /resnet50 has no weights named "IMAGENET_V9"; valid names: DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2/);
});

test('a name already in the torch.hub cache (TORCH_HOME) is used without the network', async () => {
  const env = { TORCH_HOME: join(fresh(), 'torch') };
  const dir = torchHubCheckpointsDir(env);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resnet50-11ad3fa6.pth'), 'cached');
  writeFileSync(join(dir, 'deeplabv3_resnet101_coco-586e9e4e.pth'), 'cached');
  assert.equal(await resolveWeights('resnet50', 'DEFAULT', { env, fetch: noFetch }), join(dir, 'resnet50-11ad3fa6.pth'));
  assert.equal(await resolveWeights('resnet50', 'ResNet50_Weights.IMAGENET1K_V2', { env, fetch: noFetch }), join(dir, 'resnet50-11ad3fa6.pth'));
  assert.equal(await resolveWeights('deeplabv3_resnet101', 'COCO_WITH_VOC_LABELS_V1', { env, fetch: noFetch }), join(dir, 'deeplabv3_resnet101_coco-586e9e4e.pth'));
});

test('offline: one message with the exact cache path and the official URL', async () => {
  const env = { HOME: fresh(), SEGKIT_OFFLINE: '1' };
  await assert.rejects(resolveWeights('lraspp_mobilenet_v3_large', 'DEFAULT', { env, fetch: noFetch }), (e: Error) => {
    assert.ok(e instanceof DownloadUnavailableError);
    assert.equal(e.file, join(env.HOME, '.cache', 'torch', 'hub', 'checkpoints', 'lraspp_mobilenet_v3_large-d234d4ea.pth'));
    assert.equal(e.url, 'https://download.pytorch.org/models/lraspp_mobilenet_v3_large-d234d4ea.pth');
    assert.match(e.message, /^cannot download lraspp_mobilenet_v3_large weights COCO_WITH_VOC_LABELS_V1 \(SEGKIT_OFFLINE is set\)/);
    assert.ok(e.message.includes(e.file) && e.message.includes(e.url), e.message);
    assert.match(e.message, /path of a local \.pth\/\.safetensors file/);
    return true;
  });
});

test('a mirror (baseUrl) whose file does not match the hash in the name: refused, nothing cached', async () => {
  const env = { TORCH_HOME: fresh() };
  const url = `${server.base}ok/resnet18-f37072fd.pth`;
  await assert.rejects(resolveWeights('resnet18', 'IMAGENET1K_V1', { env, baseUrl: `${server.base}ok`, progress: false }), (e: Error) => {
    assert.ok(e.message.startsWith(`${url}: the downloaded file's SHA-256 is `), e.message);
    assert.match(e.message, /says it starts with f37072fd/);
    return true;
  });
  assert.equal(server.hits.get('/ok/resnet18-f37072fd.pth'), 1);
  assert.deepEqual(readdirSync(torchHubCheckpointsDir(env)), []);
});

test('SEGKIT_WEIGHTS_BASE_URL points at a mirror; a 404 there names the cache path', async () => {
  const env = { TORCH_HOME: fresh(), SEGKIT_WEIGHTS_BASE_URL: `${server.base}mirror/` };
  await assert.rejects(resolveWeights('mobilenet_v2', 'IMAGENET1K_V1', { env, progress: false }), (e: Error) => {
    assert.ok(e instanceof DownloadUnavailableError);
    assert.equal(e.url, `${server.base}mirror/mobilenet_v2-b0353104.pth`);
    assert.equal(e.file, join(env.TORCH_HOME, 'hub', 'checkpoints', 'mobilenet_v2-b0353104.pth'));
    assert.match(e.message, /HTTP 404/);
    return true;
  });
  assert.equal(server.hits.get('/mirror/mobilenet_v2-b0353104.pth'), 1);
});
