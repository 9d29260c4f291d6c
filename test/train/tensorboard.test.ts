// TensorBoard event files: CRC-32C against its published check values, and the writer's files read
// back by an independent reader (record framing, masked CRCs, Event protobuf).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, EventWriter, maskedCrc32c } from '../../src/train/tensorboard.js';
import { crc32cBitwise, readEvents } from './tfevents-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'segkit-tb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('CRC-32C matches its check values (RFC 3720 B.4 and "123456789")', () => {
  const ascii = new TextEncoder().encode('123456789');
  assert.equal(crc32c(ascii), 0xe3069283);
  assert.equal(crc32cBitwise(ascii), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  const c = crc32c(ascii);
  assert.equal(maskedCrc32c(ascii), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('an event file reads back: file version first, scalars by step, a session restart; a flipped byte fails its CRC', () => {
  const w = new EventWriter(join(dir, 'run'));
  w.scalars(1, { 'train/loss': 1.25, 'train/lr': 0.001 });
  w.scalars(300, { 'val/miou': 0.5 });
  w.restartAt(1);
  const events = readEvents(w.file);
  assert.equal(events.length, 4);
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  assert.ok(Math.abs(events[0]!.wallTime! - Date.now() / 1000) < 60);
  assert.deepEqual([events[1]!.step, events[1]!.scalars], [1, { 'train/loss': 1.25, 'train/lr': Math.fround(0.001) }]);
  assert.deepEqual([events[2]!.step, events[2]!.scalars], [300, { 'val/miou': 0.5 }]);
  assert.deepEqual([events[3]!.step, events[3]!.sessionStatus], [1, 1]);
  const bytes = readFileSync(w.file);
  bytes[bytes.length - 6]! ^= 1;
  const bad = join(dir, 'bad.tfevents');
  writeFileSync(bad, bytes);
  assert.throws(() => readEvents(bad), /data CRC mismatch/);
});
