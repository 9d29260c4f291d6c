// An event-file reader for the tests, written from the format's definition independently of the
// writer (src/io/tensorboard.ts): record framing with masked CRC32C checks (a bitwise CRC), then a
// generic protobuf decode of Event / Summary / Value / SessionLog (readScalars skips session logs,
// which the resume test needs to see).
import { readFileSync } from 'node:fs';

export interface ReadEvent {
  wallTime?: number;
  step?: number;
  fileVersion?: string;
  scalars?: Record<string, number>;
  sessionStatus?: number;
}

/** CRC-32C bit by bit (polynomial 0x1EDC6F41, reflected 0x82F63B78). */
export function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const masked = (bytes: Uint8Array): number => {
  const c = crc32cBitwise(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
};

type Field = { field: number; wire: number; value: number | bigint | Uint8Array };

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) (out.push({ field, wire, value: view.getFloat64(i, true) }), (i += 8));
    else if (wire === 5) (out.push({ field, wire, value: view.getFloat32(i, true) }), (i += 4));
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: buf.subarray(i, i + n) });
      i += n;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const text = (v: Field['value']): string => new TextDecoder().decode(v as Uint8Array);

export function readEvents(file: string): ReadEvent[] {
  const bytes = new Uint8Array(readFileSync(file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: ReadEvent[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== masked(bytes.subarray(at, at + 8))) throw new Error(`record at ${at}: length CRC mismatch`);
    const data = bytes.subarray(at + 12, at + 12 + len);
    if (view.getUint32(at + 12 + len, true) !== masked(data)) throw new Error(`record at ${at}: data CRC mismatch`);
    at += 16 + len;
    const e: ReadEvent = {};
    for (const f of fields(data)) {
      if (f.field === 1) e.wallTime = f.value as number;
      else if (f.field === 2) e.step = Number(f.value);
      else if (f.field === 3) e.fileVersion = text(f.value);
      else if (f.field === 5) {
        e.scalars = {};
        for (const v of fields(f.value as Uint8Array).filter((x) => x.field === 1)) {
          const parts = fields(v.value as Uint8Array);
          // proto3 leaves out fields at their default: a missing simple_value is 0
          e.scalars[text(parts.find((p) => p.field === 1)!.value)] = (parts.find((p) => p.field === 2)?.value as number | undefined) ?? 0;
        }
      } else if (f.field === 6) e.sessionStatus = Number(fields(f.value as Uint8Array).find((p) => p.field === 1)?.value ?? 0);
    }
    events.push(e);
  }
  return events;
}
