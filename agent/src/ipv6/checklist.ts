import { describeIpv6Code, IPV6_CHECK_LABELS, type Ipv6Body, ipv6TargetFacts, type Lang } from '@hatang/shared';

type Status = 'pass' | 'slow' | 'fail' | 'skip';

const MARK: Record<Status, Record<Lang, string>> = {
  pass: { vi: '✓ đạt   ', en: '✓ pass  ' },
  slow: { vi: '! chậm  ', en: '! slow  ' },
  fail: { vi: '✗ lỗi   ', en: '✗ fail  ' },
  skip: { vi: '– bỏ qua', en: '– skip  ' },
};

const label = (check: string, lang: Lang) =>
  (IPV6_CHECK_LABELS as Record<string, { vi: string; en: string }>)[check]?.[lang] ?? check;

const LABEL_WIDTH = 44;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/**
 * The IPv6 checklist a person reads after `hatang-agent test ipv6`: one line per check with a
 * mark, the time, and for each failure (once per code) what it means and what to do.
 */
export function formatIpv6Checklist(body: Ipv6Body, lang: Lang = 'vi'): string[] {
  const lines: string[] = [];
  const explained = new Set<string>();
  const line = (status: Status, check: string, ms: number | undefined, code: string | undefined, detail?: string) => {
    const time = ms !== undefined ? `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms` : '';
    let tail = detail ?? '';
    if (code) tail = `${code}${tail ? ` · ${tail}` : ''}`;
    lines.push(`    ${MARK[status][lang]}  ${pad(label(check, lang), LABEL_WIDTH)} ${pad(time, 9)} ${tail}`.trimEnd());
    if (code && status !== 'skip' && !explained.has(code)) {
      explained.add(code);
      lines.push(`               → ${describeIpv6Code(code, lang)}`);
    }
  };

  lines.push(lang === 'vi' ? '  Máy này:' : '  This computer:');
  line(
    body.host.globalAddress ? 'pass' : 'fail',
    'global-address',
    undefined,
    body.host.globalAddress ? undefined : 'NO_GLOBAL_ADDRESS',
  );
  line(
    body.host.defaultRoute ? 'pass' : 'fail',
    'default-route',
    undefined,
    body.host.defaultRoute ? undefined : 'NO_DEFAULT_ROUTE',
  );

  for (const t of body.targets) {
    lines.push(`  ${lang === 'vi' ? 'Hệ thống' : 'Target'} ${t.name}${t.url ? `  ${t.url}` : ''}:`);
    for (const c of t.checks) line(c.status, c.check, c.ms, c.code, c.detail);
  }

  const facts = ipv6TargetFacts(body).filter((f) => f.checked);
  const reached = facts.filter((f) => f.v6Ok).map((f) => f.name);
  const missed = facts.filter((f) => !f.v6Ok).map((f) => f.name);
  const hostReady = body.host.globalAddress && body.host.defaultRoute;
  if (lang === 'vi') {
    lines.push(
      `  Tóm tắt: máy này ${hostReady ? 'có' : 'CHƯA có'} IPv6; tới được qua IPv6 ${reached.length}/${facts.length} hệ thống` +
        (missed.length ? ` (chưa được: ${missed.join(', ')})` : ''),
    );
  } else {
    lines.push(
      `  Summary: this computer ${hostReady ? 'has' : 'has NO'} IPv6; ${reached.length} of ${facts.length} targets answer over IPv6` +
        (missed.length ? ` (not: ${missed.join(', ')})` : ''),
    );
  }
  return lines;
}
