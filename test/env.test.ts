import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../server/env.ts';

describe('configuration', () => {
  it('has working defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 8787, MADAD_DATA_DIR: '.madad', LOG_LEVEL: 'info', MADAD_DEMO: true });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('names each wrong variable and what it expects', () => {
    const attempt = () => parseEnv({ PORT: '80a', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', MADAD_DEMO: 'yes' });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toContain('PORT: expected a whole number from 0 to 65535 (got "80a")');
    expect(message).toContain('DATABASE_URL: expected a postgres:// or postgresql:// connection URL');
    expect(message).toContain('LOG_LEVEL: expected one of');
    expect(message).toContain('MADAD_DEMO: expected 1, 0, true or false');
  });

  it('reads MADAD_DEMO=0 as off', () => {
    expect(parseEnv({ MADAD_DEMO: '0' }).MADAD_DEMO).toBe(false);
  });
});
