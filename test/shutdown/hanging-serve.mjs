// `madad serve` as the CLI runs it, plus what the probe found holding a shutdown up, started by the same
// SIGTERM once the serve command's own handler has run: `blocked` computes on the main thread (as a request
// over a huge polygon did), `lingering` leaves a handle open (as a job or a query that never ends does).
import { register } from 'tsx/esm/api';

register();
const mode = process.argv[2];
const { main } = await import('../../server/cli/main.ts');
const armed = setInterval(() => {
  if (process.listenerCount('SIGTERM') === 0) return;
  clearInterval(armed);
  process.on('SIGTERM', () => {
    if (mode === 'blocked') for (const until = Date.now() + 120_000; Date.now() < until; );
    else setInterval(() => {}, 1000);
  });
  process.stderr.write('fixture armed\n');
}, 10);
process.exitCode = await main(['serve']);
