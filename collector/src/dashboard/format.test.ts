import { describe, expect, it } from 'vitest';
import { csvDateTime, formatAge, formatAgo, formatDateTime, formatNumber, mbps, round } from './format.js';

describe('format', () => {
  it('rounds half away from zero', () => {
    expect(round(2.25, 1)).toBe(2.3);
    expect(round(-2.25, 1)).toBe(-2.3);
    expect(round(0.04, 1)).toBe(0);
    expect(mbps(93_449_999)).toBe(93.4);
    expect(mbps(93_450_000)).toBe(93.5);
  });
  it('writes Vietnamese numbers with a decimal comma and English with a point', () => {
    expect(formatNumber(93.45, 'vi', 1)).toBe('93,5');
    expect(formatNumber(93.45, 'en', 1)).toBe('93.5');
    expect(formatNumber(1234, 'vi', 0)).toBe('1.234');
  });
  it('shows times in Asia/Ho_Chi_Minh (UTC+7), day first', () => {
    const t = Date.parse('2025-03-12T17:30:00Z'); // 00:30 on the 13th in Vietnam
    expect(formatDateTime(t, 'vi')).toBe('13/03/2025 00:30');
    expect(formatDateTime(t, 'en')).toBe('13/03/2025 00:30');
    expect(csvDateTime(t)).toBe('2025-03-13 00:30');
  });
  it('says how long ago in each language', () => {
    const now = Date.parse('2025-03-12T12:00:00Z');
    expect(formatAgo(now - 3 * 3_600_000, now, 'en')).toBe('3 hours ago');
    expect(formatAgo(now - 3 * 3_600_000, now, 'vi')).toBe('3 giờ trước');
    expect(formatAgo(now - 5 * 86_400_000, now, 'en')).toBe('5 days ago');
  });
  it('says how long something has waited, as a duration', () => {
    const now = Date.parse('2025-03-12T12:00:00Z');
    expect(formatAge(now - 10_000, now, 'vi')).toBe('1 phút');
    expect(formatAge(now + 60_000, now, 'en')).toBe('1 minute');
    expect(formatAge(now - 12 * 60_000, now, 'en')).toBe('12 minutes');
    expect(formatAge(now - 30 * 3_600_000, now, 'vi')).toBe('30 giờ');
    expect(formatAge(now - 2 * 86_400_000, now, 'vi')).toBe('2 ngày');
    expect(formatAge(now - 9 * 86_400_000, now, 'en')).toBe('9 days');
  });
});
