import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SPEED_PAYLOAD_BYTES } from '@hatang/shared';

/** Chunk size written per read; 64 KiB keeps syscalls few without large latency per write. */
const CHUNK = 64 * 1024;

let payload: Buffer | undefined;

/** The pre-generated incompressible buffer, made once per process (random bytes do not compress). */
export function speedPayload(): Buffer {
  payload ??= randomBytes(SPEED_PAYLOAD_BYTES);
  return payload;
}

/** A stream of exactly `bytes` incompressible bytes, cycling through the payload without copying. */
export function incompressibleStream(bytes: number): Readable {
  const buf = speedPayload();
  let sent = 0;
  let offset = 0;
  return new Readable({
    highWaterMark: 4 * CHUNK,
    read() {
      while (sent < bytes) {
        const n = Math.min(CHUNK, bytes - sent, buf.length - offset);
        const chunk = buf.subarray(offset, offset + n);
        sent += n;
        offset = (offset + n) % buf.length;
        if (!this.push(chunk)) return;
      }
      this.push(null);
    },
  });
}
