import { HatangError } from '@hatang/shared';

/**
 * CSV per RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote, CR or LF quoted
 * with quotes doubled. Exports start with a UTF-8 byte-order mark so Excel reads Vietnamese.
 */

export const UTF8_BOM = '\uFEFF';

export type Cell = string | number | boolean | null | undefined;

/**
 * One field. Numbers are written as they are; text that a spreadsheet would run as a formula
 * (starting with = + - @ or a tab/CR) gets a leading apostrophe (OWASP CSV injection advice).
 */
export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`;
}

/** A whole CSV document with BOM and header. */
export function toCsv(header: readonly string[], rows: Iterable<readonly Cell[]>): string {
  let out = UTF8_BOM + csvLine(header);
  for (const r of rows) out += csvLine(r);
  return out;
}

/**
 * Parse CSV text into rows of fields. Accepts CRLF or LF, a leading BOM, quoted fields with
 * doubled quotes and line breaks inside quotes. Blank lines are skipped. Throws
 * HATANG_ERR_VALIDATION naming the line of an unterminated quote or stray quote.
 */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const src = text.startsWith(UTF8_BOM) ? text.slice(1) : text;
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let fieldStarted = false;
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted)) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = src[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new HatangError('HATANG_ERR_VALIDATION', `CSV line ${line}: text after a closing quote`);
        }
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '') {
        throw new HatangError('HATANG_ERR_VALIDATION', `CSV line ${line}: a quote inside an unquoted field`);
      }
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
      i++;
    } else if (c === '\r' || c === '\n') {
      endRow();
      i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
      line++;
      rowLine = line;
    } else {
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted) throw new HatangError('HATANG_ERR_VALIDATION', `CSV line ${rowLine}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0 || fieldStarted) endRow();
  return rows;
}
