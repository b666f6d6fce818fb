import { z } from 'zod';
import { KEY_NAME_PATTERN } from '../../apikeys/index.ts';
import { USER_STATUSES } from '../../db/index.ts';
import { ORGANIZATION_NAME_PATTERN, USERNAME_PATTERN, USERNAME_RULE } from '../../identity/index.ts';

// Request bodies and queries, parsed once at the edge (a ZodError becomes a 400).

// Free text bound for the database. PostgreSQL text cannot hold NUL and fails the whole
// statement on one, so it is refused here as the caller's mistake (400), not a 500.
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const roleNames = z.array(text(64)).max(64);

export const createUserBody = z.object({
  email: z.email().max(320),
  username: z.string().regex(USERNAME_PATTERN, USERNAME_RULE),
  name: text(256).optional(),
  roles: roleNames.optional(),
  /** Optional: users who sign in with OIDC have none. */
  password: z.string().min(8, 'at least 8 characters').max(1024).optional(),
});

export const listUsersQuery = z.object({
  q: text(256).optional(),
  status: z.enum(USER_STATUSES).optional(),
  include_system: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after_id: z.uuid().optional(),
});

export const rolesBody = z.object({ roles: roleNames });
export const statusBody = z.object({ status: z.enum(USER_STATUSES) });

export const createOrganizationBody = z.object({
  name: z.string().regex(ORGANIZATION_NAME_PATTERN, 'lower-case letters, digits and dashes; at most 64'),
  display_name: text(256).optional(),
  description: text(2048).optional(),
});

export const addMemberBody = z.object({ user_id: z.uuid(), roles: roleNames.default([]) });

const storedPermission = z.object({
  resource_type: z.string().max(64),
  action: z.string().max(64),
  negate: z.boolean().default(false),
});

export const customRoleBody = z.object({
  name: text(64),
  display_name: text(256).optional(),
  organization_permissions: z.array(storedPermission).max(256).default([]),
  user_permissions: z.array(storedPermission).max(256).default([]),
});

export const authcheckBody = z.object({
  checks: z
    .record(
      z.string().max(128),
      z.object({
        action: z.string().max(64),
        object: z.object({
          resource_type: z.string().max(64),
          resource_id: z.string().max(128).optional(),
          organization_id: z.uuid().optional(),
          owner_id: z.string().max(128).optional(),
        }),
      }),
    )
    .refine((c) => Object.keys(c).length <= 100, 'at most 100 checks per call'),
});

export const createKeyBody = z.object({
  name: z.string().regex(KEY_NAME_PATTERN, USERNAME_RULE),
  scopes: z.array(z.string().max(128)).max(64).optional(),
  /** Legacy: one scope as a string. */
  scope: z.string().max(128).optional(),
  allow_list: z.array(z.string().max(256)).max(512).optional(),
  lifetime_seconds: z.number().int().min(60).optional(),
});

export const loginBody = z.object({
  email: z.string().max(320),
  password: z.string().min(1).max(1024),
});
