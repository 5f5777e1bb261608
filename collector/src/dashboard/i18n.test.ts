import { describe, expect, it } from 'vitest';
import { CATALOGS, t } from './i18n.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n catalogs', () => {
  it('has every key in both languages, none empty, with the same placeholders', () => {
    const vi = CATALOGS.vi;
    const en = CATALOGS.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
    for (const k of Object.keys(vi) as Array<keyof typeof vi>) {
      expect(vi[k].trim(), k).not.toBe('');
      expect(en[k].trim(), k).not.toBe('');
      expect(placeholders(en[k]), k).toEqual(placeholders(vi[k]));
    }
  });
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('vi', 'week.label', { week: 11, year: 2025 })).toBe('Tuần 11/2025');
    expect(t('en', 'week.label', { week: 11 })).toBe('Week 11/{year}');
  });
  it('is Vietnamese with diacritics, not a transliteration', () => {
    expect(t('vi', 'status.short')).toBe('Chưa đạt');
  });
});
