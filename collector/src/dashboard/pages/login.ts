import { html } from '../html.js';
import type { MsgKey } from '../i18n.js';
import { type PageContext, type PageParts, withQuery } from '../layout.js';

export interface LoginView {
  csrf: string;
  next: string;
  username?: string;
  message?: { key: MsgKey; params?: Record<string, string | number>; kind: 'error' | 'info' };
}

export function loginPage(ctx: PageContext, v: LoginView): PageParts {
  const { t } = ctx;
  const msg = v.message
    ? html`<p class="notice ${v.message.kind}" role="${v.message.kind === 'error' ? 'alert' : 'status'}">${t(v.message.key, v.message.params)}</p>`
    : '';
  return {
    id: 'login',
    bare: true,
    title: t('login.title'),
    body: html`<section class="login-card">
  <h2 class="login-title">${t('login.title')}</h2>
  <p class="login-sub">${t('app.subtitle')}</p>
  ${msg}
  <form method="post" action="${withQuery('/login', {})}" class="login-form" autocomplete="on">
    <input type="hidden" name="_csrf" value="${v.csrf}">
    <input type="hidden" name="next" value="${v.next}">
    <label for="username">${t('login.username')}</label>
    <input id="username" name="username" type="text" required maxlength="64" autocomplete="username" autocapitalize="none" spellcheck="false" value="${v.username ?? ''}" autofocus>
    <label for="password">${t('login.password')}</label>
    <input id="password" name="password" type="password" required maxlength="256" autocomplete="current-password">
    <button type="submit" class="primary">${t('login.submit')}</button>
  </form>
  <p class="login-help">${t('login.help')}</p>
</section>`,
  };
}

export function errorPage(ctx: PageContext, status: 403 | 404, home: string): PageParts {
  const { t } = ctx;
  const [title, body] =
    status === 403
      ? (['error.forbidden.title', 'error.forbidden.body'] as const)
      : (['error.notfound.title', 'error.notfound.body'] as const);
  return {
    id: `error-${status}`,
    title: t(title),
    body: html`<section class="panel error-panel" data-status="${status}"><p>${t(body)}</p><p><a class="button" href="${home}">${t('error.back')}</a></p></section>`,
  };
}
