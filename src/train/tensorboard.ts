// TensorBoard event files (`events.out.tfevents.<time>.<host>`), written from the format's
// definition: a file is a sequence of records
//   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// (little-endian; masked = ((crc >>> 15) | (crc << 17)) + 0xa282ead8), each data an `Event`
// protocol buffer (tensorflow/core/util/event.proto):
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
//             SessionLog session_log = 6 }
//   Summary { repeated Value value = 1 }   Value { string tag = 1; float simple_value = 2 }
//   SessionLog { SessionStatus status = 1 }  (START = 1: TensorBoard drops the steps after it,
//                                             which is how a resumed run hides its abandoned tail)
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ----------------------------------

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// ---- protobuf encoding (the few wire types an Event needs) ----------------------------------

class Proto {
  private parts: number[] = [];
  private varint(v: number): void {
    // non-negative integers up to 2^53
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }
  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }
  bytes(field: number, v: Uint8Array): this {
    this.key(field, 2);
    this.varint(v.length);
    this.parts.push(...v);
    return this;
  }
  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One record of an event file: the framing around an Event's bytes. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Appends scalar events to a new event file in `dir` (one file per process, as TensorBoard expects). */
export class EventWriter {
  readonly file: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const now = Date.now();
    this.file = join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}`);
    this.write(new Proto().double(1, now / 1000).string(3, 'brain.Event:2').done());
  }

  private write(event: Uint8Array): void {
    appendFileSync(this.file, frameRecord(event));
  }

  /** Scalars `{ tag: value }` at `step`. */
  scalars(step: number, values: Record<string, number>): void {
    const summary = new Proto();
    for (const [tag, v] of Object.entries(values)) summary.bytes(1, new Proto().string(1, tag).float(2, v).done());
    this.write(new Proto().double(1, Date.now() / 1000).int(2, step).bytes(5, summary.done()).done());
  }

  /** A session start at `step`: TensorBoard discards events of later steps written before it. */
  restartAt(step: number): void {
    this.write(new Proto().double(1, Date.now() / 1000).int(2, step).bytes(6, new Proto().int(1, 1).done()).done());
  }
}
