import { describe, expect, it } from 'vitest';
import { CSV_BOM, csvField, parseCsv, toCsv } from './csv.js';

describe('csv', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('Xã Chiềng Cọ')).toBe('Xã Chiềng Cọ');
  });
  it('guards text that a spreadsheet would run as a formula, but not numbers', () => {
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(-3.5)).toBe('-3.5');
  });
  it('writes empty for null, undefined and non-finite numbers', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
  });
  it('starts with a BOM, ends lines with CRLF, and parses back', () => {
    const text = toCsv(
      ['Xã', 'Trung vị'],
      [
        ['<script>alert(1)</script>', 93.4],
        ['a,"b"', null],
      ],
    );
    expect(text.startsWith(CSV_BOM)).toBe(true);
    expect(text).toContain('\r\n');
    expect(parseCsv(text)).toEqual([
      ['Xã', 'Trung vị'],
      ['<script>alert(1)</script>', '93.4'],
      ['a,"b"', ''],
    ]);
  });
  it('parses an empty document to no rows', () => {
    expect(parseCsv('')).toEqual([]);
  });
});
