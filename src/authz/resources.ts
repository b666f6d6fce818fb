import { z } from 'zod';

// Every resource type Latchkey protects and the actions that make sense on it. A
// permission naming an action a resource does not have is a bug caught at definition.
// Types the platform protects later (workspace, template, chat) are listed now so roles,
// scopes and allow-lists can name them from the start.
const CRUD = ['create', 'read', 'update', 'delete'] as const;

export const RESOURCES = {
  user: CRUD,
  organization: CRUD,
  organization_member: CRUD,
  role: CRUD,
  assign_role: ['assign', 'unassign', 'read'],
  assign_org_role: ['assign', 'unassign', 'read'],
  api_key: CRUD,
  external_auth_provider: ['read'],
  external_auth_link: CRUD,
  oidc_link: CRUD,
  oauth2_app: CRUD,
  oauth2_app_secret: CRUD,
  oauth2_app_code_token: ['create', 'read', 'delete'],
  oauth2_signing_key: ['create', 'read', 'delete'],
  dbcrypt_key: CRUD,
  audit_log: ['create', 'read'],
  system: ['read', 'update'],
  debug_info: ['read'],
  workspace: [...CRUD, 'use'],
  template: [...CRUD, 'use'],
  chat: CRUD,
} as const satisfies Record<string, readonly string[]>;

export type ResourceType = keyof typeof RESOURCES;
export type Action = (typeof RESOURCES)[ResourceType][number];

export const RESOURCE_TYPES = Object.keys(RESOURCES) as ResourceType[];
export const ACTIONS = [...new Set(Object.values(RESOURCES).flat())] as Action[];

export const resourceTypeSchema = z.enum(RESOURCE_TYPES as [ResourceType, ...ResourceType[]]);
export const actionSchema = z.enum(ACTIONS as [Action, ...Action[]]);

export function isResourceType(value: string): value is ResourceType {
  return Object.hasOwn(RESOURCES, value);
}

export function hasAction(type: ResourceType, action: string): action is Action {
  return (RESOURCES[type] as readonly string[]).includes(action);
}
