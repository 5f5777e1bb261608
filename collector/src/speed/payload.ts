import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SPEED_PAYLOAD_BYTES } from '@hatang/shared';

/**
 * Bytes handed to the socket per write. 256 KiB keeps syscalls and JS work per byte low (the
 * server must keep up with many agents at once) while Node still applies backpressure per write.
 */
const CHUNK = 1024 * 1024;

let payload: Buffer | undefined;

/** The pre-generated incompressible buffer, made once per process (random bytes do not compress). */
export function speedPayload(): Buffer {
  payload ??= randomBytes(SPEED_PAYLOAD_BYTES);
  return payload;
}

/** Resolve when the response drains or closes, whichever first; listeners are removed either way. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Write exactly `bytes` incompressible bytes to `res`, cycling through the payload without copying,
 * honouring backpressure; stops early when the client goes away. Calls `onBytes` per write.
 * Returns the bytes handed to the socket.
 */
export async function writePayload(
  res: ServerResponse,
  bytes: number,
  onBytes: (n: number) => void = () => {},
): Promise<number> {
  const buf = speedPayload();
  let sent = 0;
  let offset = 0;
  while (sent < bytes) {
    if (res.destroyed || res.writableEnded) return sent;
    const n = Math.min(CHUNK, bytes - sent, buf.length - offset);
    const ok = res.write(buf.subarray(offset, offset + n));
    sent += n;
    onBytes(n);
    offset = (offset + n) % buf.length;
    if (!ok) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end();
  return sent;
}
