import { type Cell as CsvCell, toCsv } from '../csv.js';
import { csvDateTime, formatDateTime, formatNumber, type Lang, round } from './format.js';
import { html, SafeHtml } from './html.js';

/**
 * One table model renders both the HTML table and its CSV, so the CSV holds exactly the figures
 * the page shows: each cell's value is rounded once (per column kind) and then either formatted
 * for the reader's language or written plainly for the spreadsheet.
 */

export type CellKind =
  /** plain text */
  | 'text'
  /** a number with `digits` decimals */
  | 'number'
  /** a percentage, value in percent (0–100), `digits` decimals */
  | 'percent'
  /** a signed change, `digits` decimals */
  | 'delta'
  /** ms since epoch, shown in Vietnam time */
  | 'datetime';

export interface Cell {
  /** The figure (number, text, ms for datetime) or null for no data. */
  value: string | number | null;
  /** Text shown instead of the value (a status word); the CSV gets the same text. */
  text?: string;
  href?: string;
  /** CSS class of the cell (status colours). */
  cls?: string;
  /** Show the text as a badge of this class (met, short, nodata…). */
  badge?: string;
  /** Extra markup after the text (a badge, an icon); never in the CSV. */
  extra?: SafeHtml;
  title?: string;
}

export interface Column<R> {
  id: string;
  label: string;
  /** A group heading above (Fixed / Mobile); the CSV header becomes "group: label". */
  group?: string;
  kind: CellKind;
  digits?: number;
  cell: (r: R) => Cell | string | number | null;
  /** Markup-only column (sparklines): shown, not exported. */
  visual?: (r: R) => SafeHtml;
  sortable?: boolean;
  /** Numeric columns align right. */
  align?: 'left' | 'right' | 'center';
  help?: string;
}

export interface Table<R> {
  id: string;
  columns: Column<R>[];
  rows: R[];
  /** Row class (silent agents, short communes). */
  rowClass?: (r: R) => string | undefined;
  /** Shown when there are no rows. */
  empty: string;
  caption?: string;
}

export interface SortState {
  column: string;
  dir: 'asc' | 'desc';
}

function toCell(v: Cell | string | number | null): Cell {
  if (v === null || typeof v === 'string' || typeof v === 'number') return { value: v };
  return v;
}

/** The value a column holds after rounding, as both page and CSV use it. */
function rounded<R>(c: Column<R>, cell: Cell): string | number | null {
  if (cell.value === null) return null;
  if (typeof cell.value === 'number' && c.kind !== 'datetime' && c.kind !== 'text') {
    return round(cell.value, c.digits ?? 0);
  }
  return cell.value;
}

export function displayText<R>(c: Column<R>, cell: Cell, lang: Lang): string {
  if (cell.text !== undefined) return cell.text;
  const v = rounded(c, cell);
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  switch (c.kind) {
    case 'number':
      return formatNumber(v, lang, c.digits ?? 0);
    case 'percent':
      return `${formatNumber(v, lang, c.digits ?? 0)} %`;
    case 'delta':
      return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${formatNumber(Math.abs(v), lang, c.digits ?? 0)}`;
    case 'datetime':
      return formatDateTime(v, lang);
    default:
      return String(v);
  }
}

function csvValue<R>(c: Column<R>, cell: Cell): CsvCell {
  if (cell.text !== undefined) return cell.text;
  const v = rounded(c, cell);
  if (v === null) return '';
  if (c.kind === 'datetime' && typeof v === 'number') return csvDateTime(v);
  return v;
}

function csvLabel<R>(c: Column<R>): string {
  return c.group ? `${c.group}: ${c.label}` : c.label;
}

/** Sort rows by a column's rounded value; rows without a value go last whichever the direction. */
export function sortRows<R>(table: Table<R>, sort: SortState | undefined): R[] {
  if (!sort) return table.rows;
  const col = table.columns.find((c) => c.id === sort.column && c.sortable);
  if (!col) return table.rows;
  const keyed = table.rows.map((r, i) => ({ r, i, v: rounded(col, toCell(col.cell(r))) }));
  const sign = sort.dir === 'asc' ? 1 : -1;
  keyed.sort((a, b) => {
    if (a.v === null && b.v === null) return a.i - b.i;
    if (a.v === null) return 1;
    if (b.v === null) return -1;
    const d =
      typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v), 'vi');
    return d === 0 ? a.i - b.i : sign * d;
  });
  return keyed.map((k) => k.r);
}

export interface RenderOptions {
  lang: Lang;
  sort?: SortState | undefined;
  /** Builds the link of a sortable header. */
  sortHref?: (column: string, dir: 'asc' | 'desc') => string;
  sortLabel?: (column: string) => string;
}

export function renderTable<R>(table: Table<R>, o: RenderOptions): SafeHtml {
  const rows = sortRows(table, o.sort);
  const groups: Array<{ label: string; span: number }> = [];
  const hasGroups = table.columns.some((c) => c.group);
  if (hasGroups) {
    for (const c of table.columns) {
      const label = c.group ?? '';
      const last = groups.at(-1);
      if (last && last.label === label && label !== '') last.span++;
      else groups.push({ label, span: 1 });
    }
  }
  const alignOf = (c: Column<R>) => c.align ?? (c.kind === 'text' ? 'left' : 'right');
  const head = table.columns.map((c) => {
    const cls = `a-${alignOf(c)}${c.group ? ' grouped' : ''}${c.visual ? ' visual' : ''}`;
    if (c.sortable && o.sortHref) {
      const active = o.sort?.column === c.id;
      const next: 'asc' | 'desc' = active && o.sort?.dir === 'desc' ? 'asc' : 'desc';
      const ariaSort = active ? (o.sort?.dir === 'asc' ? 'ascending' : 'descending') : undefined;
      return html`<th scope="col" class="${cls} sortable" data-col="${c.id}" ${ariaSort ? html`aria-sort="${ariaSort}"` : ''}><a href="${o.sortHref(c.id, next)}" title="${o.sortLabel ? o.sortLabel(c.label) : c.label}">${c.label}<span class="sort-ind" aria-hidden="true">${active ? (o.sort?.dir === 'asc' ? '▲' : '▼') : '↕'}</span></a></th>`;
    }
    return html`<th scope="col" class="${cls}" data-col="${c.id}" ${c.help ? html`title="${c.help}"` : ''}>${c.label}</th>`;
  });
  const groupRow = hasGroups
    ? html`<tr class="groups">${groups.map((g) => html`<th scope="colgroup" colspan="${g.span}" class="${g.label ? 'group' : 'nogroup'}">${g.label}</th>`)}</tr>`
    : '';
  const body = rows.length
    ? rows.map((r) => {
        const rc = table.rowClass?.(r);
        return html`<tr${rc ? html` class="${rc}"` : ''}>${table.columns.map((c) => {
          if (c.visual) return html`<td class="visual">${c.visual(r)}</td>`;
          const cell = toCell(c.cell(r));
          const text = displayText(c, cell, o.lang);
          const cls = [`a-${alignOf(c)}`, cell.cls, cell.value === null && cell.text === undefined ? 'nil' : '']
            .filter(Boolean)
            .join(' ');
          const shown = cell.badge ? html`<span class="badge ${cell.badge}">${text}</span>` : text;
          const inner = cell.href ? html`<a href="${cell.href}">${shown}</a>` : shown;
          return html`<td class="${cls}" data-col="${c.id}"${cell.title ? html` title="${cell.title}"` : ''}>${inner}${cell.extra ?? ''}</td>`;
        })}</tr>`;
      })
    : html`<tr class="empty"><td colspan="${table.columns.length}">${table.empty}</td></tr>`;
  return html`<div class="table-wrap"><table class="data" id="${table.id}" data-table="${table.id}">${table.caption ? html`<caption>${table.caption}</caption>` : ''}<thead>${groupRow}<tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The CSV of a table, rows in the same order as on the page. */
export function tableCsv<R>(table: Table<R>, sort?: SortState): string {
  const cols = table.columns.filter((c) => !c.visual);
  const rows = sortRows(table, sort).map((r) => cols.map((c) => csvValue(c, toCell(c.cell(r)))));
  return toCsv(cols.map(csvLabel), rows);
}

export { SafeHtml };
