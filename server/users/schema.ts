import { z } from '@hono/zod-openapi';
import { roleSchema } from '../access/roles.ts';
import { sendersSchema } from '../access/senders.ts';
import { iso, isoDate, jurisdictionSchema } from '../http/schemas.ts';
import type { UserView } from './service.ts';

export const newUserSchema = z
  .object({
    username: z.string().regex(/^[a-z0-9._-]{3,40}$/, 'expected 3-40 lower-case letters, digits, dots, dashes or underscores'),
    displayName: z.string().trim().min(1).max(120),
    password: z.string().min(12, 'expected at least 12 characters').max(200),
    roles: z.array(roleSchema).min(1, 'expected at least one role'),
    agency: z.string().trim().min(2).max(80).openapi({ example: 'PDMA Sindh' }),
    jurisdiction: jurisdictionSchema.openapi({ example: 'PK7' }),
    senders: sendersSchema.default([]),
    email: z.email('expected an email address such as amina@bisp.gov.pk').max(254).optional().openapi({ description: 'Where the user is told what waits for them, when the server sends mail' }),
  })
  .openapi('NewUser');

export const userSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    displayName: z.string(),
    roles: z.array(roleSchema),
    agency: z.string(),
    jurisdiction: z.string(),
    senders: z.array(z.string()).openapi({ description: 'The CAP senders this user may publish alerts as' }),
    email: z.string().nullable(),
    disabledAt: isoDate.nullable(),
    createdAt: isoDate,
  })
  .openapi('User');

export type NewUser = z.input<typeof newUserSchema>;
export type User = z.infer<typeof userSchema>;

export const toUser = (u: UserView) => userSchema.parse({ ...u, disabledAt: iso(u.disabledAt), createdAt: iso(u.createdAt) });
