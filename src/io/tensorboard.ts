// TensorBoard event files: what `tensorboard --logdir runs/` reads. A file is a sequence of
// TFRecords (uint64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes),
// each holding one `Event` protobuf: the first names the file version, the others carry scalar
// summaries (tag, value, step, wall time). Protobuf encoding by protobufjs, CRC-32C by @node-rs/crc32.
//
//   const tb = new EventWriter('runs/demo');          // runs/demo/events.out.tfevents.<time>.<host>
//   tb.scalar('train/loss', 0.42, step);
//   tb.close();
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { crc32c } from '@node-rs/crc32';

// The part of tensorflow/core/util/event.proto and summary.proto that scalars need; field numbers as there.
const root = protobuf.parse(`
syntax = "proto3";
message SummaryValue { string tag = 1; float simple_value = 2; }
message Summary { repeated SummaryValue value = 1; }
message SessionLog { int32 status = 1; }
message Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 6; }
`).root;
const EventMessage = root.lookupType('Event');

/** One scalar as it was logged. */
export interface ScalarEvent {
  tag: string;
  value: number;
  step: number;
  wallTime: number;
}

// TFRecord's masking: rotate right by 15 bits, add a constant (so CRCs of CRCs stay well spread).
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

function record(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/**
 * Appends scalar events to a new event file in `logDir`. Each record is written whole and flushed
 * to the OS at once, so a run killed mid-training leaves a file TensorBoard reads up to the last
 * record; `flush()` also asks the disk to keep it (checkpoints call it).
 */
export class EventWriter {
  readonly file: string;
  private fd: number | undefined;

  constructor(logDir: string, opts: { fileSuffix?: string } = {}) {
    mkdirSync(logDir, { recursive: true });
    const now = Date.now() / 1000;
    // the pid keeps two processes started in the same second (a resumed run) apart
    this.file = join(logDir, `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}${opts.fileSuffix ?? ''}`);
    this.fd = openSync(this.file, 'a');
    this.write({ wallTime: now, step: 0, fileVersion: 'brain.Event:2' });
  }

  /** Logs `value` under `tag` (slashes group charts: 'train/loss', 'val/miou') at `step`. */
  scalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`EventWriter.scalar('${tag}'): step must be a non-negative integer, got ${step}`);
    this.write({ wallTime, step, summary: { value: [{ tag, simpleValue: value }] } });
  }

  /** Several scalars at one step: `{ 'train/loss': 0.4, 'train/lr': 0.01 }`. */
  scalars(values: Record<string, number>, step: number, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, summary: { value: Object.entries(values).map(([tag, simpleValue]) => ({ tag, simpleValue })) } });
  }

  /**
   * A session start at `step` (SessionLog START): TensorBoard drops the events of later steps
   * written before it, which is how a resumed run hides the steps it is about to redo.
   */
  restartAt(step: number, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, sessionLog: { status: 1 } });
  }

  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`EventWriter: ${this.file} is closed`);
    const bytes = EventMessage.encode(EventMessage.fromObject(event)).finish();
    writeSync(this.fd, record(bytes));
  }
}

/**
 * The scalars of an event file, checking every record's CRCs. A truncated last record (a run
 * killed while writing) ends the list; a corrupt record anywhere is an error naming its offset.
 */
export function readScalars(file: string): ScalarEvent[] {
  const buf = readFileSync(file);
  const out: ScalarEvent[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const len = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== maskedCrc32c(buf.subarray(at, at + 8))) throw new Error(`${file}: corrupt record length at byte ${at}`);
    if (at + 12 + len + 4 > buf.length) break; // cut short by a kill: what came before stands
    const data = buf.subarray(at + 12, at + 12 + len);
    if (buf.readUInt32LE(at + 12 + len) !== maskedCrc32c(data)) throw new Error(`${file}: corrupt record data at byte ${at}`);
    const event = EventMessage.toObject(EventMessage.decode(data), { longs: Number }) as { wallTime?: number; step?: number; summary?: { value?: { tag: string; simpleValue?: number }[] } };
    for (const v of event.summary?.value ?? []) out.push({ tag: v.tag, value: v.simpleValue ?? 0, step: event.step ?? 0, wallTime: event.wallTime ?? 0 });
    at += 12 + len + 4;
  }
  return out;
}
