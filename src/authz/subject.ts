import { type AllowListEntry, allowListPermits } from './allow-list.ts';
import type { AuthzObject } from './object.ts';
import { matches, type Permission } from './permission.ts';
import type { Action, ResourceType } from './resources.ts';
import type { Role } from './roles.ts';

const ALLOW = 1;
const DENY = -1;
const NONE = 0;

/**
 * Everything the roles of one subject say about one (resource type, action), worked out
 * once and kept on the subject. A check is then a few comparisons: site, then the
 * object's organization, then ownership — the first level with an answer decides, and a
 * negative permission at a level denies whatever else that level allows.
 */
export class Decision {
  readonly site: number;
  readonly orgs: ReadonlyMap<string, number> | null;
  readonly userSite: number;
  readonly userOrgs: ReadonlyMap<string, number> | null;
  /** The subject's scopes permit this type and action at all. */
  readonly scoped: boolean;

  constructor(
    roles: readonly Role[],
    scopes: readonly Permission[] | undefined,
    type: ResourceType,
    action: Action,
  ) {
    let site = NONE;
    let userSite = NONE;
    let orgs: Map<string, number> | null = null;
    let userOrgs: Map<string, number> | null = null;
    for (const role of roles) {
      site = merge(site, level(role.site, type, action));
      const org = role.id.organizationId;
      if (org === undefined) {
        userSite = merge(userSite, level(role.user, type, action));
        continue;
      }
      const o = level(role.org, type, action);
      if (o !== NONE) {
        orgs ??= new Map();
        orgs.set(org, merge(orgs.get(org) ?? NONE, o));
      }
      const u = level(role.user, type, action);
      if (u !== NONE) {
        userOrgs ??= new Map();
        userOrgs.set(org, merge(userOrgs.get(org) ?? NONE, u));
      }
    }
    this.site = site;
    this.orgs = orgs;
    this.userSite = userSite;
    this.userOrgs = userOrgs;
    this.scoped = scopes === undefined || scopes.some((p) => matches(p, type, action));
  }
}

function level(perms: readonly Permission[], type: ResourceType, action: Action): number {
  let result = NONE;
  for (const p of perms) {
    if (!matches(p, type, action)) continue;
    if (p.negate) return DENY;
    result = ALLOW;
  }
  return result;
}

function merge(a: number, b: number): number {
  return a === DENY || b === DENY ? DENY : a === ALLOW || b === ALLOW ? ALLOW : NONE;
}

export interface SubjectInit {
  /** A user id, or `system:<job>` for system actors. */
  readonly id: string;
  readonly kind: 'user' | 'system';
  readonly roles: readonly Role[];
  /** Permissions the credential is limited to; undefined means not limited (`latchkey:all`). */
  readonly scopes?: readonly Permission[] | undefined;
  /** Objects the credential is limited to; undefined or empty means not limited (`*:*`). */
  readonly allowList?: readonly AllowListEntry[] | undefined;
}

/**
 * Who is acting: effective permission = roles ∩ scopes ∩ allow-list. Immutable; its
 * decisions are computed on first use per (type, action) and cached on the instance.
 */
export class Subject {
  readonly id: string;
  readonly kind: 'user' | 'system';
  readonly roles: readonly Role[];
  readonly scopes: readonly Permission[] | undefined;
  readonly allowList: readonly AllowListEntry[] | undefined;
  readonly #decisions = new Map<ResourceType, Map<Action, Decision>>();

  constructor(init: SubjectInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.roles = init.roles;
    this.scopes = init.scopes;
    this.allowList = init.allowList && init.allowList.length > 0 ? init.allowList : undefined;
  }

  decision(type: ResourceType, action: Action): Decision {
    let byAction = this.#decisions.get(type);
    if (byAction === undefined) {
      byAction = new Map();
      this.#decisions.set(type, byAction);
    }
    let d = byAction.get(action);
    if (d === undefined) {
      d = new Decision(this.roles, this.scopes, type, action);
      byAction.set(action, d);
    }
    return d;
  }

  /** The check itself; see authorize() for the public entry point. */
  can(action: Action, object: AuthzObject): boolean {
    const d = this.decision(object.type, action);
    if (!d.scoped) return false;
    if (this.allowList !== undefined && !allowListPermits(this.allowList, object.type, object.id))
      return false;
    if (d.site === ALLOW) return true;
    if (d.site === DENY) return false;
    const org = object.orgId;
    if (org !== undefined && d.orgs !== null) {
      const o = d.orgs.get(org);
      if (o === ALLOW) return true;
      if (o === DENY) return false;
    }
    if (object.ownerId === undefined || object.ownerId !== this.id) return false;
    if (d.userSite !== NONE) return d.userSite === ALLOW;
    return org !== undefined && d.userOrgs !== null && d.userOrgs.get(org) === ALLOW;
  }
}

export const DECISION = { ALLOW, DENY, NONE } as const;
