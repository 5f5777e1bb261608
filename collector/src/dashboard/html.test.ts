import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw } from './html.js';

describe('html templates', () => {
  it('escapes interpolated text, including a script tag and quotes', () => {
    const name = '<script>alert(1)</script>';
    expect(html`<td>${name}</td>`.value).toBe('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html`<a title="${'" onmouseover="x'}">`.value).toBe('<a title="&quot; onmouseover=&quot;x">');
    expect(escapeHtml("a&b'`")).toBe('a&amp;b&#39;&#96;');
  });
  it('passes nested templates and raw constants through, joins arrays, drops null/undefined/false', () => {
    const inner = html`<b>${'x<'}</b>`;
    expect(html`<p>${inner}${raw('&nbsp;')}${[1, html`<i>2</i>`]}${null}${undefined}${false}</p>`.value).toBe(
      '<p><b>x&lt;</b>&nbsp;1<i>2</i></p>',
    );
  });
  it('writes numbers and zero', () => {
    expect(html`${0}/${12.5}`.value).toBe('0/12.5');
  });
});
