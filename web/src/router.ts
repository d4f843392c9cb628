/** A small history-API router: the server answers each of these paths with index.html. */
export type Route =
  | { name: 'map' }
  | { name: 'alerts' }
  | { name: 'alert'; id: string }
  | { name: 'rules' }
  | { name: 'login' }
  | { name: 'missing' }
  | { name: 'events' }
  | { name: 'declare' }
  | { name: 'event'; id: string }
  | { name: 'inbox' }
  | { name: 'batch'; id: string }
  | { name: 'budgets' }
  | { name: 'plan'; id: string }
  | { name: 'planPrint'; id: string }
  | { name: 'plans' };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'map' };
  if (pathname === '/login') return { name: 'login' };
  if (pathname === '/alerts') return { name: 'alerts' };
  if (pathname === '/rules') return { name: 'rules' };
  if (pathname === '/events') return { name: 'events' };
  if (pathname === '/events/new') return { name: 'declare' };
  if (pathname === '/inbox') return { name: 'inbox' };
  if (pathname === '/budgets') return { name: 'budgets' };
  if (pathname === '/plans') return { name: 'plans' };
  const plan = /^\/events\/([\w-]+)\/plan(\/print)?$/.exec(pathname);
  if (plan) return plan[2] ? { name: 'planPrint', id: plan[1]! } : { name: 'plan', id: plan[1]! };
  const event = /^\/events\/([\w-]+)$/.exec(pathname);
  if (event) return { name: 'event', id: event[1]! };
  const batch = /^\/batches\/([\w-]+)$/.exec(pathname);
  if (batch) return { name: 'batch', id: batch[1]! };
  const alert = /^\/alerts\/([\w-]+)$/.exec(pathname);
  if (alert) return { name: 'alert', id: alert[1]! };
  return { name: 'missing' };
}

let listener: () => void = () => {};
export function onNavigate(handler: () => void): void {
  listener = handler;
  window.addEventListener('popstate', () => listener());
  // Same-origin links marked data-link change the view without a reload.
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a[data-link]');
    if (!a || !(a instanceof HTMLAnchorElement) || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(a.pathname);
  });
}

export function navigate(path: string, replace = false): void {
  if (path !== location.pathname) (replace ? history.replaceState : history.pushState).call(history, null, '', path);
  listener();
}
