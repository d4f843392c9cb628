import { z } from '@hono/zod-openapi';

/** The roles of DOMAIN.md ("Who acts"). A user may hold several; an API token holds one. */
export const ROLES = ['admin', 'dma_officer', 'program_manager', 'finance_officer', 'responder', 'auditor', 'feed'] as const;
export type Role = (typeof ROLES)[number];

export const roleSchema = z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` });

/** Roles whose work needs identity data (CNIC, names, phone, payment account), within their jurisdiction. */
export const IDENTITY_ROLES: readonly Role[] = ['program_manager', 'finance_officer'];
