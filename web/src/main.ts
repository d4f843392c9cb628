import './styles.css';
import { getMe, whenUnauthorized } from './api.ts';
import { applyLang, onLangChange } from './i18n.ts';
import { navigate, onNavigate, parseRoute } from './router.ts';
import { currentUser, setUser } from './session.ts';
import { loginView } from './views/login.ts';
import { Shell } from './views/shell.ts';

const root = document.getElementById('app')!;
let shell: Shell | undefined;

function signedOut(): void {
  setUser(undefined);
  shell = undefined;
  navigate('/login', true);
}

function render(): void {
  const route = parseRoute(location.pathname);
  if (!currentUser()) {
    shell = undefined;
    if (route.name !== 'login') history.replaceState(null, '', '/login');
    loginView(root, (principal) => {
      setUser(principal);
      navigate('/', true);
    });
    return;
  }
  if (route.name === 'login') return navigate('/', true);
  shell ??= new Shell(root, signedOut);
  shell.show(route);
}

async function boot(): Promise<void> {
  applyLang();
  whenUnauthorized(() => {
    if (currentUser()) signedOut();
  });
  onLangChange(() => {
    if (!shell) render();
  });
  onNavigate(render);
  setUser(await getMe().catch(() => undefined));
  render();
}

void boot();
