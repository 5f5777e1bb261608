import type { Lang } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { MsgKey, Translate } from './i18n.js';
import type { SessionUser } from './sessions.js';

/** What every page render needs to know about the request. */
export interface PageContext {
  lang: Lang;
  t: Translate;
  /** Path and query of this request (for language links and CSV links). */
  url: string;
  user: SessionUser | undefined;
  now: number;
  /** Name of the province (header). */
  provinceName: string;
  /** Name of the user's scope unit, for the header. */
  scopeName?: string;
  version: string;
  /** Footer: this year's targets. */
  targets?: { year: number; fixed: number; mobile: number };
}

export interface Crumb {
  label: string;
  href?: string;
}

export interface PageParts {
  id: string;
  title: string;
  lead?: string | SafeHtml;
  crumbs?: Crumb[];
  /** Buttons and links at the right of the heading (week navigation, CSV, print). */
  actions?: SafeHtml;
  body: SafeHtml;
  nav?: 'overview' | 'agents' | 'ipv6' | 'report';
  /** A page for people who are not logged in (login, errors before login). */
  bare?: boolean;
}

/** `url` with query parameters set (undefined removes one). Always a local path. */
export function withQuery(url: string, params: Record<string, string | undefined>): string {
  const u = new URL(url, 'http://local');
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) u.searchParams.delete(k);
    else u.searchParams.set(k, v);
  }
  const q = u.searchParams.toString();
  return `${u.pathname}${q ? `?${q}` : ''}`;
}

function navLink(ctx: PageContext, href: string, key: MsgKey, active: boolean): SafeHtml {
  return html`<a href="${href}"${active ? html` aria-current="page" class="active"` : ''}>${ctx.t(key)}</a>`;
}

export function renderPage(ctx: PageContext, p: PageParts): SafeHtml {
  const { t } = ctx;
  const langLinks = (['vi', 'en'] as const).map(
    (l) =>
      html`<a href="${withQuery(ctx.url, { lang: l })}" hreflang="${l}" lang="${l}" data-lang="${l}"${l === ctx.lang ? html` aria-current="true" class="active"` : ''}>${l.toUpperCase()}</a>`,
  );
  const user = ctx.user;
  const header = html`<header class="top">
  <a class="brand" href="/"><span class="logo" aria-hidden="true">ht</span><span class="brand-text"><strong>${t('app.title')}</strong><span>${ctx.provinceName}</span></span></a>
  ${
    user && !p.bare
      ? html`<nav class="main-nav" aria-label="${t('nav.overview')}">
    ${navLink(ctx, '/', 'nav.overview', p.nav === 'overview')}
    ${navLink(ctx, '/agents', 'nav.agents', p.nav === 'agents')}
    ${navLink(ctx, '/ipv6', 'nav.ipv6', p.nav === 'ipv6')}
    ${navLink(ctx, '/report', 'nav.report', p.nav === 'report')}
  </nav>`
      : html`<span class="spacer"></span>`
  }
  <div class="tools">
    <span class="lang-switch" role="group" aria-label="${t('nav.lang')}">${langLinks}</span>
    ${
      user && !p.bare
        ? html`<span class="who" title="${user.username}"><span class="who-name">${user.fullName ?? user.username}</span>${ctx.scopeName ? html`<span class="who-scope">${ctx.scopeName}</span>` : ''}</span>
    <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${user.csrf}"><button type="submit">${t('nav.logout')}</button></form>`
        : ''
    }
  </div>
</header>`;
  const crumbs = p.crumbs?.length
    ? html`<nav class="crumbs" aria-label="breadcrumb"><ol>${p.crumbs.map((c, i) =>
        c.href && i < (p.crumbs?.length ?? 0) - 1
          ? html`<li><a href="${c.href}">${c.label}</a></li>`
          : html`<li aria-current="page">${c.label}</li>`,
      )}</ol></nav>`
    : '';
  const footer = html`<footer class="foot">
  <span>${t('footer.units')}</span>
  ${ctx.targets ? html`<span>${t('footer.targets', { year: ctx.targets.year, fixed: ctx.targets.fixed, mobile: ctx.targets.mobile })}</span>` : ''}
  <span class="gen" data-generated="${ctx.now}">hatang ${ctx.version}</span>
</footer>`;
  return html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${p.title} · hatang</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/uPlot.min.css">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/vendor/uPlot.iife.min.js" defer></script>
<script src="/static/app.js" defer></script>
</head>
<body class="page-${p.id}" data-lang="${ctx.lang}">
<a class="skip" href="#main">${t('nav.skip')}</a>
${header}
<main id="main">
${crumbs}
<div class="page-head">
  <div class="titles"><h1>${p.title}</h1>${p.lead ? html`<p class="lead">${p.lead}</p>` : ''}</div>
  ${p.actions ? html`<div class="actions">${p.actions}</div>` : ''}
</div>
${p.body}
</main>
${footer}
</body>
</html>`;
}
