import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UDP_ECHO_HEADER_BYTES, UDP_ECHO_MAX_BYTES } from './spec.js';
import {
  echoKeyFromSecret,
  echoKeyFromToken,
  echoKeyFromTokenHash,
  echoMacValid,
  encodeEchoPacket,
  makeEchoReply,
  parseEchoPacket,
} from './udp-echo.js';

const token = `hat1_0123456789abcdef_${'A'.repeat(43)}`;
const keys = echoKeyFromToken(token)!;
const packet = (size = 64) =>
  encodeEchoPacket(
    {
      type: 'request',
      auth: 'token',
      keyId: keys.keyId,
      session: Buffer.alloc(8, 7),
      seq: 42,
      clientTime: 1234.5,
      serverTime: 0,
      size,
    },
    keys.key,
  );

describe('UDP echo packets', () => {
  it('round-trips every header field', () => {
    const p = parseEchoPacket(packet(100));
    expect(p).toMatchObject({ type: 'request', auth: 'token', seq: 42, clientTime: 1234.5, serverTime: 0, size: 100 });
    expect(typeof p !== 'string' && p.keyId.toString('hex')).toBe('0123456789abcdef');
  });
  it('the key of a token equals the key of its stored hash, so the collector never needs the token', () => {
    const secret = 'A'.repeat(43);
    const storedHash = createHash('sha256').update(secret).digest('hex');
    expect(echoKeyFromTokenHash(storedHash).equals(keys.key)).toBe(true);
    expect(echoMacValid(packet(), echoKeyFromTokenHash(storedHash))).toBe(true);
  });
  it('rejects a wrong key and any tampered header byte', () => {
    const buf = packet();
    expect(echoMacValid(buf, echoKeyFromSecret('another secret, long enough'))).toBe(false);
    for (const off of [4, 8, 16, 24, 32, 40, 48]) {
      const t = Buffer.from(buf);
      t[off] = (t[off] as number) ^ 1;
      expect(echoMacValid(t, keys.key)).toBe(false);
    }
  });
  it('a reply keeps length and padding, sets type and server time, and is signed again', () => {
    const req = packet(200);
    req.fill(9, UDP_ECHO_HEADER_BYTES);
    const reply = makeEchoReply(req, keys.key, 1.7e12);
    expect(reply.length).toBe(200);
    expect(reply.subarray(UDP_ECHO_HEADER_BYTES).equals(req.subarray(UDP_ECHO_HEADER_BYTES))).toBe(true);
    expect(parseEchoPacket(reply)).toMatchObject({ type: 'reply', serverTime: 1.7e12, seq: 42 });
    expect(echoMacValid(reply, keys.key)).toBe(true);
  });
  it.each([
    [Buffer.alloc(10), 'short'],
    [Buffer.alloc(UDP_ECHO_MAX_BYTES + 1), 'long'],
    [Buffer.alloc(64), 'magic'],
  ])('names why a datagram is not an echo packet', (buf, why) => {
    expect(parseEchoPacket(buf)).toBe(why);
  });
  it('names a bad type or auth byte', () => {
    const t = packet();
    t[4] = 9;
    expect(parseEchoPacket(t)).toBe('type');
    const a = packet();
    a[5] = 9;
    expect(parseEchoPacket(a)).toBe('auth');
  });
  it('refuses sizes outside 64–1200 bytes and ids that are not 8 bytes', () => {
    expect(() => packet(63)).toThrow(RangeError);
    expect(() => packet(1201)).toThrow(RangeError);
    expect(() =>
      encodeEchoPacket(
        {
          type: 'request',
          auth: 'secret',
          keyId: Buffer.alloc(4),
          session: Buffer.alloc(8),
          seq: 0,
          clientTime: 0,
          serverTime: 0,
          size: 64,
        },
        keys.key,
      ),
    ).toThrow(RangeError);
  });
  it('accepts only well-formed tokens', () => {
    expect(echoKeyFromToken('hat1_xyz_abc')).toBeUndefined();
    expect(echoKeyFromToken(`${token}x`)).toBeUndefined();
  });
  it('secret keys differ per secret and are stable', () => {
    expect(echoKeyFromSecret('s'.repeat(16)).equals(echoKeyFromSecret('s'.repeat(16)))).toBe(true);
    expect(echoKeyFromSecret('s'.repeat(16)).equals(echoKeyFromSecret('t'.repeat(16)))).toBe(false);
  });
});
