import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { UDP_ECHO_HEADER_BYTES, UDP_ECHO_MAGIC, UDP_ECHO_MAX_BYTES } from './spec.js';

/**
 * UDP echo packets (docs/protocol.md §4). One format for requests and replies; big-endian.
 *
 * | offset | bytes | field |
 * |-------:|------:|-------|
 * | 0  | 4  | magic `HTE1` |
 * | 4  | 1  | type: 1 request, 2 reply |
 * | 5  | 1  | auth: 1 agent token, 2 shared echo secret |
 * | 6  | 2  | reserved, 0 |
 * | 8  | 8  | key id: the agent token's id (auth 1), or any id the agent picks (auth 2) |
 * | 16 | 8  | session: random per train |
 * | 24 | 4  | sequence number |
 * | 28 | 4  | reserved, 0 |
 * | 32 | 8  | client time (float64 ms, the client's clock; echoed unchanged) |
 * | 40 | 8  | server time (float64 epoch ms; 0 in requests) |
 * | 48 | 16 | MAC: first 16 bytes of HMAC-SHA256(key, bytes 0–47) |
 * | 64 | …  | padding, echoed unchanged |
 *
 * The token never travels: the MAC proves the agent holds it. Key for auth 1: SHA-256 of the
 * token's secret part (what the collector stores); for auth 2: SHA-256 of "hatang-udp-echo:" +
 * the shared secret.
 */

export type EchoAuth = 'token' | 'secret';
export type EchoType = 'request' | 'reply';

export interface EchoPacket {
  type: EchoType;
  auth: EchoAuth;
  /** 8 bytes. */
  keyId: Buffer;
  /** 8 bytes. */
  session: Buffer;
  seq: number;
  clientTime: number;
  serverTime: number;
  /** Total packet length, bytes. */
  size: number;
}

const MAC_OFFSET = 48;
const MAC_BYTES = 16;
const TYPE = { request: 1, reply: 2 } as const;
const AUTH = { token: 1, secret: 2 } as const;

function mac(buf: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', key).update(buf.subarray(0, MAC_OFFSET)).digest().subarray(0, MAC_BYTES);
}

/** Build a packet of `p.size` bytes (64 … 1200) and sign it with `key`. */
export function encodeEchoPacket(p: EchoPacket, key: Buffer): Buffer {
  if (!Number.isInteger(p.size) || p.size < UDP_ECHO_HEADER_BYTES || p.size > UDP_ECHO_MAX_BYTES) {
    throw new RangeError(`echo packet size must be ${UDP_ECHO_HEADER_BYTES}–${UDP_ECHO_MAX_BYTES} bytes`);
  }
  if (p.keyId.length !== 8 || p.session.length !== 8) throw new RangeError('keyId and session must be 8 bytes');
  const buf = Buffer.alloc(p.size);
  buf.writeUInt32BE(UDP_ECHO_MAGIC, 0);
  buf.writeUInt8(TYPE[p.type], 4);
  buf.writeUInt8(AUTH[p.auth], 5);
  p.keyId.copy(buf, 8);
  p.session.copy(buf, 16);
  buf.writeUInt32BE(p.seq >>> 0, 24);
  buf.writeDoubleBE(p.clientTime, 32);
  buf.writeDoubleBE(p.serverTime, 40);
  mac(buf, key).copy(buf, MAC_OFFSET);
  return buf;
}

/** Read a packet's header; a string names why it is not an echo packet. The MAC is not checked here. */
export function parseEchoPacket(buf: Buffer): EchoPacket | string {
  if (buf.length < UDP_ECHO_HEADER_BYTES) return 'short';
  if (buf.length > UDP_ECHO_MAX_BYTES) return 'long';
  if (buf.readUInt32BE(0) !== UDP_ECHO_MAGIC) return 'magic';
  const type = buf.readUInt8(4) === TYPE.request ? 'request' : buf.readUInt8(4) === TYPE.reply ? 'reply' : undefined;
  const auth = buf.readUInt8(5) === AUTH.token ? 'token' : buf.readUInt8(5) === AUTH.secret ? 'secret' : undefined;
  if (!type) return 'type';
  if (!auth) return 'auth';
  return {
    type,
    auth,
    keyId: Buffer.from(buf.subarray(8, 16)),
    session: Buffer.from(buf.subarray(16, 24)),
    seq: buf.readUInt32BE(24),
    clientTime: buf.readDoubleBE(32),
    serverTime: buf.readDoubleBE(40),
    size: buf.length,
  };
}

/** Constant-time check of a packet's MAC against `key`. */
export function echoMacValid(buf: Buffer, key: Buffer): boolean {
  if (buf.length < UDP_ECHO_HEADER_BYTES) return false;
  return timingSafeEqual(mac(buf, key), buf.subarray(MAC_OFFSET, MAC_OFFSET + MAC_BYTES));
}

/** The reply to a (validated) request: same length and padding, type reply, server time set, signed again. */
export function makeEchoReply(request: Buffer, key: Buffer, serverTime: number): Buffer {
  const buf = Buffer.from(request);
  buf.writeUInt8(TYPE.reply, 4);
  buf.writeDoubleBE(serverTime, 40);
  mac(buf, key).copy(buf, MAC_OFFSET);
  return buf;
}

const TOKEN_RE = /^hat1_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** Key id and key of an agent token (`hat1_<id>_<secret>`); undefined when the token is not one. */
export function echoKeyFromToken(token: string): { keyId: Buffer; key: Buffer } | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  return {
    keyId: Buffer.from(m[1] as string, 'hex'),
    key: createHash('sha256')
      .update(m[2] as string)
      .digest(),
  };
}

/** Key of a stored token hash (hex SHA-256 of the secret), as the collector holds it. */
export function echoKeyFromTokenHash(tokenHashHex: string): Buffer {
  return Buffer.from(tokenHashHex, 'hex');
}

/** Key of a shared echo secret (collector/test point `udp.secret`, agent `udp.secret`). */
export function echoKeyFromSecret(secret: string): Buffer {
  return createHash('sha256').update(`hatang-udp-echo:${secret}`).digest();
}
