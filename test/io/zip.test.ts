import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../paths.js';
import { ZipArchive, isZip } from '../../src/io/zip.js';

const expected = JSON.parse(readFileSync(fixture('io', 'expected.json'), 'utf8')) as { zip: Record<string, Record<string, string>> };

test('reads stored and deflated entries whose sizes and offsets live in zip64 fields', () => {
  const path = fixture('io', 'zip', 'zip64.zip');
  const zip = new ZipArchive(readFileSync(path), path);
  const want = expected.zip['zip64.zip'];
  assert.deepEqual(zip.names(), Object.keys(want));
  for (const [name, hex] of Object.entries(want)) assert.equal(Buffer.from(zip.read(name)).toString('hex'), hex, name);
  assert.deepEqual(zip.names().map((n) => zip.entries.get(n)!.method), [0, 8]);
});

test('lists a torch.save archive and returns stored entries without copying', () => {
  const bytes = readFileSync(fixture('io', 'pth', 'sd_convbn.pth'));
  assert.ok(isZip(bytes));
  const zip = new ZipArchive(bytes);
  assert.ok(zip.has('sd_convbn/data.pkl'));
  assert.ok(zip.has('sd_convbn/data/0'));
  assert.equal(zip.read('sd_convbn/data/0').buffer, bytes.buffer);
});

test('rejects entries that run past the end, truncated archives and corrupt data', () => {
  const path = fixture('io', 'zip', 'bad_offset.zip');
  assert.throws(() => new ZipArchive(readFileSync(path), path).read('x.bin'), (e: Error) => e.message.includes(path) && /past the end/.test(e.message));

  const bytes = readFileSync(fixture('io', 'pth', 'sd_convbn.pth'));
  assert.throws(() => new ZipArchive(bytes.subarray(0, bytes.length - 30)), /end-of-central-directory/);

  const zip = new ZipArchive(bytes);
  const entry = zip.entries.get('sd_convbn/data/0')!;
  const corrupt = Uint8Array.from(bytes);
  const data = zip.read(entry.name);
  corrupt[data.byteOffset - bytes.byteOffset + 3] ^= 0xff;
  assert.throws(() => new ZipArchive(corrupt).read(entry.name), /CRC-32 mismatch/);
  assert.throws(() => zip.read('nope'), /no entry named "nope"/);
});
