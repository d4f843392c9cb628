import { ApiError, login, setCsrfToken, type Principal } from '../api.ts';
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { languageSwitch } from './shell.ts';

/** The sign-in page; on success hands the principal back to the app. */
export function loginView(root: HTMLElement, onSignedIn: (p: Principal) => void): void {
  const message = h('p', { class: 'error', role: 'alert', hidden: true });
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, t('signIn'));
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        submit.textContent = t('signingIn');
        message.hidden = true;
        try {
          const res = await login(username.value.trim(), password.value);
          setCsrfToken(res.csrfToken);
          onSignedIn(res.principal);
        } catch (err) {
          message.textContent = err instanceof ApiError ? err.message : String(err);
          message.hidden = false;
          password.focus();
        } finally {
          submit.disabled = false;
          submit.textContent = t('signIn');
        }
      },
    },
    h('h1', {}, t('signInTitle')),
    h('p', {}, t('signInIntro')),
    h('label', { for: 'username' }, t('username')),
    username,
    h('label', { for: 'password' }, t('password')),
    password,
    message,
    submit,
  );
  root.replaceChildren(h('main', { id: 'main', class: 'login-page' }, h('div', { class: 'login-top' }, h('strong', { class: 'brand' }, t('appName')), languageSwitch()), form));
  username.focus();
}
