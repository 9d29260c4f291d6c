// TensorBoard event files: checked by a reader written here from the format's definition
// (TFRecord framing with masked CRC-32C from a table built from the Castagnoli polynomial, and
// the protobuf wire format decoded by hand), independent of the writer's libraries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventWriter, maskedCrc32c, readScalars } from '../../src/io/tensorboard.js';

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const mask = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

type Field = { no: number; wire: number; value: bigint | Uint8Array | number };
function fields(buf: Uint8Array): Field[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) (out.push({ no, wire, value: view.getFloat64(at, true) }), (at += 8));
    else if (wire === 5) (out.push({ no, wire, value: view.getFloat32(at, true) }), (at += 4));
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function records(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = Number(buf.readBigUInt64LE(at));
    assert.equal(buf.readUInt32LE(at + 8), mask(crc32c(buf.subarray(at, at + 8))), 'length CRC');
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(buf.readUInt32LE(at + 12 + len), mask(crc32c(data)), 'data CRC');
    out.push(data);
    at += 16 + len;
  }
  return out;
}

const withDir = (fn: (dir: string) => void) => () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-tb-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('CRC-32C: the library and the polynomial table agree on the check value', () => {
  const digits = new TextEncoder().encode('123456789');
  assert.equal(crc32c(digits), 0xe3069283);
  assert.equal(maskedCrc32c(digits), mask(0xe3069283));
});

test('an event file holds a version record, then scalar events with tag, value, step and wall time', withDir((dir) => {
  const tb = new EventWriter(dir);
  tb.scalar('train/loss', 0.75, 1, 1000.5);
  tb.scalars({ 'train/loss': 0.5, 'train/lr': 0.01 }, 2, 1001.25);
  tb.restartAt(2, 1002);
  tb.close();
  const [name] = readdirSync(dir);
  assert.match(name!, /^events\.out\.tfevents\.\d+\./);
  const recs = records(readFileSync(join(dir, name!)));
  assert.equal(recs.length, 4);
  const version = fields(recs[0]!);
  assert.equal(new TextDecoder().decode(version.find((f) => f.no === 3)!.value as Uint8Array), 'brain.Event:2');

  const decode = (rec: Uint8Array) => {
    const f = fields(rec);
    const summary = fields(f.find((x) => x.no === 5)!.value as Uint8Array);
    const values = summary.filter((x) => x.no === 1).map((v) => {
      const vf = fields(v.value as Uint8Array);
      return [new TextDecoder().decode(vf.find((x) => x.no === 1)!.value as Uint8Array), vf.find((x) => x.no === 2)!.value];
    });
    return { wallTime: f.find((x) => x.no === 1)!.value, step: f.find((x) => x.no === 2)!.value, values };
  };
  assert.deepEqual(decode(recs[1]!), { wallTime: 1000.5, step: 1n, values: [['train/loss', 0.75]] });
  assert.deepEqual(decode(recs[2]!), { wallTime: 1001.25, step: 2n, values: [['train/loss', 0.5], ['train/lr', Math.fround(0.01)]] });

  const restart = fields(recs[3]!);
  assert.deepEqual([restart.find((f) => f.no === 2)!.value, fields(restart.find((f) => f.no === 6)!.value as Uint8Array)], [2n, [{ no: 1, wire: 0, value: 1n }]], 'SessionLog START at step 2');
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
