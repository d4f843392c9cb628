export * from './access.ts';
export * from './audit.ts';
export * from './system.ts';
export * from './geo.ts';
export * from './alerts.ts';
export * from './rules.ts';
export * from './outbox.ts';
export * from './batches.ts';
