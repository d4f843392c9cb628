import type { Principal, Role } from './api.ts';

let principal: Principal | undefined;

export const currentUser = () => principal;
export function setUser(p: Principal | undefined): void {
  principal = p;
}

const has = (...roles: Role[]) => principal?.roles.some((r) => roles.includes(r)) ?? false;

/** What the interface offers each role; the server enforces the same and more. */
export const can = {
  postAlert: () => has('feed', 'dma_officer', 'admin'),
  dryRun: () => has('dma_officer', 'program_manager', 'admin'),
};
