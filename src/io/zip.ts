// Minimal zip reader for torch.save archives: reads the central directory (zip64 when present),
// returns stored entries as zero-copy views and inflates deflated ones with node:zlib.
// Every offset and size is checked against the file before it is used.

import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** True when the bytes start like a zip archive (a local file header or an empty archive). */
export function isZip(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 4) return false;
  const sig = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    readonly source = '<buffer>',
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = this.readCentralDirectory();
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's uncompressed bytes; a view into the archive for stored entries. */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (entry === undefined) this.fail(`no entry named ${JSON.stringify(name)}`);
    const data = this.entryData(entry);
    const out = entry.method === 0 ? data : this.inflate(entry, data);
    if (out.byteLength !== entry.size) {
      this.fail(`entry ${JSON.stringify(name)} has ${out.byteLength} bytes, the directory says ${entry.size}`);
    }
    if (crc32(out) >>> 0 !== entry.crc32) this.fail(`entry ${JSON.stringify(name)} is corrupt (CRC-32 mismatch)`);
    return out;
  }

  private fail(problem: string): never {
    throw new Error(`${this.source}: bad zip archive: ${problem}`);
  }

  private u16(at: number): number {
    this.need(at, 2);
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    this.need(at, 4);
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    this.need(at, 8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit field at byte ${at} is too large (${v})`);
    return Number(v);
  }

  private need(at: number, length: number): void {
    if (at < 0 || at + length > this.bytes.byteLength) {
      this.fail(`a record at byte ${at} (${length} bytes) runs past the end of the file (${this.bytes.byteLength} bytes); the file may be truncated`);
    }
  }

  private findEndOfCentralDirectory(): number {
    const last = this.bytes.byteLength - EOCD_SIZE;
    for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
      if (this.view.getUint32(at, true) === SIG_EOCD) return at;
    }
    return this.fail('no end-of-central-directory record (not a zip file, or truncated)');
  }

  /** Entry count, directory size and offset, from the zip64 record when there is one. */
  private directoryBounds(): { count: number; offset: number; size: number } {
    const eocd = this.findEndOfCentralDirectory();
    const locator = eocd - 20;
    if (locator >= 0 && this.view.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
      const record = this.u64(locator + 8);
      if (this.u32(record) !== SIG_ZIP64_EOCD) this.fail(`zip64 end-of-central-directory record missing at byte ${record}`);
      return { count: this.u64(record + 32), size: this.u64(record + 40), offset: this.u64(record + 48) };
    }
    return { count: this.u16(eocd + 10), size: this.u32(eocd + 12), offset: this.u32(eocd + 16) };
  }

  private readCentralDirectory(): Map<string, ZipEntry> {
    const { count, offset, size } = this.directoryBounds();
    this.need(offset, size);
    const entries = new Map<string, ZipEntry>();
    let at = offset;
    for (let i = 0; i < count; i++) {
      if (this.u32(at) !== SIG_CENTRAL) this.fail(`central directory entry ${i} at byte ${at} has a bad signature`);
      const flags = this.u16(at + 8);
      const nameLength = this.u16(at + 28);
      const extraLength = this.u16(at + 30);
      const commentLength = this.u16(at + 32);
      this.need(at + 46, nameLength + extraLength);
      const name = new TextDecoder().decode(this.bytes.subarray(at + 46, at + 46 + nameLength));
      if (flags & 1) this.fail(`entry ${JSON.stringify(name)} is encrypted`);
      const entry: ZipEntry = {
        name,
        method: this.u16(at + 10),
        crc32: this.u32(at + 16),
        compressedSize: this.u32(at + 20),
        size: this.u32(at + 24),
        localHeaderOffset: this.u32(at + 42),
      };
      this.applyZip64Extra(entry, at + 46 + nameLength, extraLength);
      if (entry.method !== 0 && entry.method !== 8) {
        this.fail(`entry ${JSON.stringify(name)} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
      }
      entries.set(name, entry);
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  }

  /** Fields saturated at 0xFFFFFFFF are stored in the zip64 extra field (id 1), in this order. */
  private applyZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const MAX = 0xffffffff;
    let at = start;
    while (at + 4 <= start + length) {
      const id = this.u16(at);
      const size = this.u16(at + 2);
      if (id === 1) {
        let field = at + 4;
        const next = (): number => {
          if (field + 8 > at + 4 + size) this.fail(`entry ${JSON.stringify(entry.name)} has a short zip64 extra field`);
          const v = this.u64(field);
          field += 8;
          return v;
        };
        if (entry.size === MAX) entry.size = next();
        if (entry.compressedSize === MAX) entry.compressedSize = next();
        if (entry.localHeaderOffset === MAX) entry.localHeaderOffset = next();
        return;
      }
      at += 4 + size;
    }
  }

  /** The entry's raw (possibly compressed) bytes, located through its local header. */
  private entryData(entry: ZipEntry): Uint8Array {
    const at = entry.localHeaderOffset;
    if (at + 30 > this.bytes.byteLength) {
      this.fail(`entry ${JSON.stringify(entry.name)} starts at byte ${at}, past the end of the file (${this.bytes.byteLength} bytes)`);
    }
    if (this.u32(at) !== SIG_LOCAL) this.fail(`entry ${JSON.stringify(entry.name)} has no local header at byte ${at}`);
    const start = at + 30 + this.u16(at + 26) + this.u16(at + 28);
    const end = start + entry.compressedSize;
    if (end > this.bytes.byteLength) {
      this.fail(`entry ${JSON.stringify(entry.name)} data (bytes ${start}..${end}) runs past the end of the file (${this.bytes.byteLength} bytes); the file may be truncated`);
    }
    return this.bytes.subarray(start, end);
  }

  private inflate(entry: ZipEntry, data: Uint8Array): Uint8Array {
    try {
      // The limit stops a "zip bomb" from inflating past the size the directory promised.
      return inflateRawSync(data, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      return this.fail(`entry ${JSON.stringify(entry.name)} does not inflate: ${(err as Error).message}`);
    }
  }
}
