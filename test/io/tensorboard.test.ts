// TensorBoard event files: checked by the reader in test/train/tfevents-reader.ts, written from the
// format's definition (TFRecord framing with a bitwise masked CRC-32C, the protobuf wire format
// decoded by hand), independent of the writer's libraries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventWriter, maskedCrc32c, readScalars } from '../../src/io/tensorboard.js';
import { crc32cBitwise, readEvents } from '../train/tfevents-reader.js';

const withDir = (fn: (dir: string) => void) => () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-tb-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('CRC-32C: the library and a bitwise CRC agree on the check value', () => {
  const digits = new TextEncoder().encode('123456789');
  assert.equal(crc32cBitwise(digits), 0xe3069283);
  const c = 0xe3069283;
  assert.equal(maskedCrc32c(digits), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('an event file holds a version record, then scalar events with tag, value, step and wall time, and session starts', withDir((dir) => {
  const tb = new EventWriter(dir);
  tb.scalar('train/loss', 0.75, 1, 1000.5);
  tb.scalars({ 'train/loss': 0.5, 'train/lr': 0.01 }, 2, 1001.25);
  tb.restartAt(2, 1002);
  tb.close();
  const [name] = readdirSync(dir);
  assert.match(name!, new RegExp(`^events\\.out\\.tfevents\\.\\d+\\..+\\.${process.pid}$`));
  const events = readEvents(join(dir, name!));
  assert.equal(events.length, 4);
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  assert.deepEqual(events.slice(1), [
    { wallTime: 1000.5, step: 1, scalars: { 'train/loss': 0.75 } },
    { wallTime: 1001.25, step: 2, scalars: { 'train/loss': 0.5, 'train/lr': Math.fround(0.01) } },
    { wallTime: 1002, step: 2, sessionStatus: 1 },
  ]);
  assert.deepEqual(readScalars(join(dir, name!)), [
    { tag: 'train/loss', value: 0.75, step: 1, wallTime: 1000.5 },
    { tag: 'train/loss', value: 0.5, step: 2, wallTime: 1001.25 },
    { tag: 'train/lr', value: Math.fround(0.01), step: 2, wallTime: 1001.25 },
  ]);
}));

test('a file cut short by a kill reads up to its last whole record; a corrupt byte is named', withDir((dir) => {
  const tb = new EventWriter(dir);
  for (let step = 0; step < 5; step++) tb.scalar('loss', step / 10, step, 2000 + step);
  tb.close();
  const file = tb.file;
  const whole = readFileSync(file);
  writeFileSync(file, whole.subarray(0, whole.length - 7));
  assert.deepEqual(readScalars(file).map((e) => e.step), [0, 1, 2, 3]);
  const bad = Buffer.from(whole);
  bad[bad.length - 10] ^= 0xff;
  writeFileSync(file, bad);
  assert.throws(() => readScalars(file), /corrupt record data at byte \d+/);
  assert.throws(() => tb.scalar('loss', 1, 6), /is closed/);
  const again = new EventWriter(dir);
  assert.throws(() => again.scalar('loss', 1, -1), /step must be a non-negative integer, got -1/);
  again.close();
}));
