import type { Logger } from 'pino';
import type { Principal } from '../access/principal.ts';

/** What every request carries through the middleware chain. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    /** Set by the authentication middleware when the request carries valid credentials. */
    principal?: Principal;
    /** How the principal authenticated: the web session cookie or an API token. */
    via?: 'cookie' | 'token';
    sessionToken?: string;
  };
}
