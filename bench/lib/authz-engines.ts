import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability';
import { type Enforcer, newEnforcer, newModelFromString } from 'casbin';
import type { Action, AuthzObject, Permission, ResourceType, Role } from '../../src/authz/index.ts';

// Latchkey's roles, expressed in CASL and in casbin, so the authz benchmark compares the
// engines on one policy. Both are generated from the same Role values the Latchkey
// Subject holds; the benchmark then checks that all three answer every check alike.
// Only what the benchmarked policy uses is translated: wildcards and negative
// permissions (whose level-by-level precedence neither engine has built in) are refused.

function plain(role: Role, perms: readonly Permission[]): Array<{ type: ResourceType; action: Action }> {
  return perms.map((p) => {
    if (p.negate || p.resourceType === '*' || p.action === '*') {
      throw new Error(`role ${role.id.name}: negative and wildcard permissions are not translated`);
    }
    return { type: p.resourceType, action: p.action };
  });
}

export type CaslAbility = MongoAbility<[Action, ResourceType | AuthzObject]>;

/**
 * CASL: one rule per permission. A site permission has no conditions; an organization
 * permission requires `orgId` to be the role's organization; an ownership permission
 * requires `ownerId` to be the subject (and, for an organization role, `orgId` too).
 */
export function caslAbility(roles: readonly Role[], subjectId: string): CaslAbility {
  const rules: Array<RawRuleOf<CaslAbility>> = [];
  for (const role of roles) {
    const org = role.id.organizationId;
    for (const { type, action } of plain(role, role.site)) rules.push({ action, subject: type });
    if (org !== undefined) {
      for (const { type, action } of plain(role, role.org)) {
        rules.push({ action, subject: type, conditions: { orgId: org } });
      }
    }
    const own = org === undefined ? { ownerId: subjectId } : { ownerId: subjectId, orgId: org };
    for (const { type, action } of plain(role, role.user))
      rules.push({ action, subject: type, conditions: own });
  }
  return createMongoAbility<CaslAbility>(rules, {
    detectSubjectType: (object) => (object as AuthzObject).type,
  });
}

/**
 * casbin: RBAC with domains plus attribute (ABAC) checks on the object.
 *
 * - The request is `(subject id, object, action)`; the object is the AuthzObject itself,
 *   and the matcher reads its `type`, `orgId` and `ownerId`.
 * - A domain is an organization id, or `site` for site-wide roles. `g, user, role,
 *   domain` says the user holds the role in that domain (as Latchkey's role identifier
 *   `name:organization` does).
 * - A policy `p, role, domain, type, action, level` is one permission of a role, at one
 *   of Latchkey's three levels: `site` (any object), `org` (objects whose orgId is the
 *   role's domain) or `own` (objects the subject owns; for an organization role only
 *   inside that organization).
 * - The effect is "some policy allows"; there are no deny policies.
 */
const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, dom, typ, act, level

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj.type == p.typ && r.act == p.act && g(r.sub, p.sub, p.dom) && \\
  (p.level == "site" || (p.level == "org" && r.obj.orgId == p.dom) || \\
  (p.level == "own" && r.obj.ownerId == r.sub && (p.dom == "site" || r.obj.orgId == p.dom)))
`;

export const SITE_DOMAIN = 'site';

export interface CasbinPolicy {
  readonly policies: string[][];
  readonly groupings: string[][];
}

export function casbinPolicy(roles: readonly Role[], subjectId: string): CasbinPolicy {
  const policies: string[][] = [];
  const groupings: string[][] = [];
  for (const role of roles) {
    const dom = role.id.organizationId ?? SITE_DOMAIN;
    groupings.push([subjectId, role.id.name, dom]);
    for (const [level, perms] of [
      ['site', role.site],
      ['org', role.org],
      ['own', role.user],
    ] as const) {
      for (const { type, action } of plain(role, perms))
        policies.push([role.id.name, dom, type, action, level]);
    }
  }
  return { policies, groupings };
}

export async function casbinEnforcer(policy: CasbinPolicy): Promise<Enforcer> {
  const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL));
  await enforcer.addPolicies(policy.policies);
  await enforcer.addGroupingPolicies(policy.groupings);
  return enforcer;
}
