import type { Principal, Role } from './api.ts';

let principal: Principal | undefined;

export const currentUser = () => principal;
export function setUser(p: Principal | undefined): void {
  principal = p;
}

export const has = (...roles: Role[]) => principal?.roles.some((r) => roles.includes(r)) ?? false;

/** What the interface offers each role; the server enforces the same and more. */
export const can = {
  postAlert: () => has('feed', 'dma_officer', 'admin'),
  dryRun: () => has('dma_officer', 'program_manager', 'admin'),
  declare: () => has('dma_officer', 'admin'),
  readBudgets: () => has('program_manager', 'finance_officer', 'auditor', 'admin'),
  readLines: () => has('program_manager', 'finance_officer'),
  manage: () => has('program_manager'),
  finance: () => has('finance_officer'),
};
