import { EventEmitter } from 'node:events';

/** What changed about an alert, announced after the change is committed. */
export interface AlertChanged {
  alertId: string;
  chainId: string;
  change: 'created' | 'updated' | 'superseded' | 'cancelled' | 'ended' | 'expired';
  at: Date;
}

export interface EventDeclared {
  eventId: string;
  change: 'declared' | 'updated' | 'closed';
  at: Date;
}

interface Events {
  'alert.changed': [AlertChanged];
  'event.changed': [EventDeclared];
}

/**
 * The in-process bus: stores announce committed changes, trigger evaluation subscribes. Listeners run
 * after the commit, so a failing listener never undoes a stored alert; they log their own errors.
 */
export class Bus {
  private emitter = new EventEmitter();
  private pending = new Set<Promise<unknown>>();

  on<K extends keyof Events>(name: K, listener: (...args: Events[K]) => Promise<void> | void): void {
    this.emitter.on(name, (...args: Events[K]) => {
      const run = Promise.resolve()
        .then(() => listener(...args))
        .catch(() => undefined);
      this.pending.add(run);
      void run.finally(() => this.pending.delete(run));
    });
  }

  emit<K extends keyof Events>(name: K, ...args: Events[K]): void {
    this.emitter.emit(name, ...args);
  }

  /** Resolves when every listener started so far has finished (tests and shutdown wait on it). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}
