import { readFileSync } from 'node:fs';
import {
  type Action,
  type AuthzObject,
  authorize,
  expandRoles,
  type RoleAssignments,
  Subject,
} from '../src/authz/index.ts';
import { casbinEnforcer, casbinPolicy, caslAbility } from './lib/authz-engines.ts';
import { calibrate, median, timeFor, type Workload } from './lib/measure.ts';
import { report } from './lib/report.ts';

const USER = '0b6f9c1e-3d2a-4f5b-8c7d-1e2f3a4b5c6d';
const OTHER_USER = '7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f';
const ORG = '2f1e0d9c-8b7a-4654-a321-0fedcba98765';
const OTHER_ORG = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

// A plain site member (implicit `member`) who, in ORG, is an organization member
// (implicit) and holds organization-user-admin and organization-auditor.
const ASSIGNMENTS: RoleAssignments = {
  siteRoles: [],
  memberships: [{ organizationId: ORG, roles: ['organization-user-admin', 'organization-auditor'] }],
};
const noCustomRoles = () => undefined;

interface Check {
  readonly action: Action;
  readonly object: AuthzObject;
  /** What roles.ts says; all three engines must agree with it. */
  readonly allowed: boolean;
}

const own = (type: AuthzObject['type'], orgId?: string): AuthzObject =>
  orgId === undefined
    ? { type, id: `${type}-1`, ownerId: USER }
    : { type, id: `${type}-1`, orgId, ownerId: USER };
const others = (type: AuthzObject['type'], orgId: string): AuthzObject => ({
  type,
  id: `${type}-2`,
  orgId,
  ownerId: OTHER_USER,
});
const inOrg = (type: AuthzObject['type'], orgId: string): AuthzObject => ({ type, id: `${type}-3`, orgId });
const self: AuthzObject = { type: 'user', id: USER, ownerId: USER };
const member = (userId: string, orgId: string): AuthzObject => ({
  type: 'organization_member',
  id: userId,
  orgId,
  ownerId: userId,
});

// 32 checks: 15 allowed, 17 denied; half about owned objects, half organization-scoped.
const MIX: readonly Check[] = [
  // Owned objects: `member` grants them anywhere, `organization-member` inside ORG.
  { action: 'read', object: self, allowed: true },
  { action: 'update', object: self, allowed: true },
  { action: 'delete', object: self, allowed: false },
  { action: 'read', object: { type: 'user', id: OTHER_USER, ownerId: OTHER_USER }, allowed: false },
  { action: 'read', object: own('api_key'), allowed: true },
  { action: 'delete', object: own('api_key'), allowed: true },
  { action: 'delete', object: { type: 'api_key', id: 'k2', ownerId: OTHER_USER }, allowed: false },
  { action: 'update', object: own('external_auth_link'), allowed: true },
  { action: 'create', object: own('oauth2_app_code_token'), allowed: false },
  { action: 'read', object: member(USER, ORG), allowed: true },
  { action: 'read', object: member(USER, OTHER_ORG), allowed: false },
  { action: 'update', object: own('workspace', ORG), allowed: true },
  { action: 'read', object: own('workspace', OTHER_ORG), allowed: false },
  { action: 'update', object: others('workspace', ORG), allowed: false },
  { action: 'read', object: own('chat', ORG), allowed: true },
  { action: 'read', object: others('chat', ORG), allowed: false },
  // Organization-scoped objects.
  { action: 'read', object: { type: 'organization', id: ORG, orgId: ORG }, allowed: true },
  { action: 'update', object: { type: 'organization', id: ORG, orgId: ORG }, allowed: false },
  { action: 'read', object: { type: 'organization', id: OTHER_ORG, orgId: OTHER_ORG }, allowed: false },
  { action: 'read', object: member(OTHER_USER, ORG), allowed: true },
  { action: 'update', object: member(OTHER_USER, ORG), allowed: true },
  { action: 'delete', object: member(OTHER_USER, ORG), allowed: true },
  { action: 'update', object: member(OTHER_USER, OTHER_ORG), allowed: false },
  { action: 'read', object: inOrg('role', ORG), allowed: true },
  { action: 'update', object: inOrg('role', ORG), allowed: false },
  { action: 'read', object: inOrg('audit_log', ORG), allowed: true },
  { action: 'create', object: inOrg('audit_log', ORG), allowed: false },
  { action: 'read', object: inOrg('audit_log', OTHER_ORG), allowed: false },
  { action: 'assign', object: { type: 'assign_org_role', orgId: ORG }, allowed: true },
  { action: 'assign', object: { type: 'assign_role' }, allowed: false },
  { action: 'read', object: { type: 'dbcrypt_key' }, allowed: false },
  { action: 'delete', object: inOrg('workspace', ORG), allowed: false },
];

type Engine = 'casl' | 'casbin' | 'latchkey' | 'latchkeyNew';
const ENGINES: readonly Engine[] = ['casl', 'casbin', 'latchkey', 'latchkeyNew'];

/**
 * Latchkey's authorize() against CASL and casbin on one policy and one mix of checks.
 * All engines must give the same answers, then each is timed for `seconds` per round,
 * `rounds` times, rotating which engine goes first; the medians are reported.
 */
export async function benchAuthz(seconds = 1.5, rounds = 5): Promise<void> {
  const roles = expandRoles(ASSIGNMENTS, noCustomRoles);
  const subject = new Subject({ id: USER, kind: 'user', roles });
  const ability = caslAbility(roles, USER);
  const policy = casbinPolicy(roles, USER);
  const enforcer = await casbinEnforcer(policy);

  const answers: Record<Engine, (c: Check) => boolean> = {
    casl: (c) => ability.can(c.action, c.object),
    casbin: (c) => enforcer.enforceSync(USER, c.object, c.action),
    latchkey: (c) => authorize(subject, c.action, c.object),
    latchkeyNew: (c) =>
      authorize(
        new Subject({ id: USER, kind: 'user', roles: expandRoles(ASSIGNMENTS, noCustomRoles) }),
        c.action,
        c.object,
      ),
  };
  const wrong: string[] = [];
  for (const c of MIX) {
    for (const e of ENGINES) {
      const got = answers[e](c);
      if (got !== c.allowed) wrong.push(`${e}: ${c.action} ${JSON.stringify(c.object)} → ${got}`);
    }
  }
  if (wrong.length > 0) throw new Error(`engines disagree with the expected answers:\n${wrong.join('\n')}`);
  const allowedPerPass = MIX.filter((c) => c.allowed).length;

  // One pass = every check of the mix once; each workload returns how many were allowed.
  // Each engine has its own loop, so no call site is shared (and made polymorphic).
  const n = MIX.length;
  const workloads: Record<Engine, Workload> = {
    casl: (reps) => {
      let allowed = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < n; i++) {
          const c = MIX[i] as Check;
          if (ability.can(c.action, c.object)) allowed++;
        }
      }
      return allowed;
    },
    casbin: (reps) => {
      let allowed = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < n; i++) {
          const c = MIX[i] as Check;
          if (enforcer.enforceSync(USER, c.object, c.action)) allowed++;
        }
      }
      return allowed;
    },
    latchkey: (reps) => {
      let allowed = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < n; i++) {
          const c = MIX[i] as Check;
          if (authorize(subject, c.action, c.object)) allowed++;
        }
      }
      return allowed;
    },
    // A request's first check: resolve the roles, build the Subject, decide once.
    latchkeyNew: (reps) => {
      let allowed = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < n; i++) {
          const c = MIX[i] as Check;
          const fresh = new Subject({
            id: USER,
            kind: 'user',
            roles: expandRoles(ASSIGNMENTS, noCustomRoles),
          });
          if (authorize(fresh, c.action, c.object)) allowed++;
        }
      }
      return allowed;
    },
  };

  const batch = {} as Record<Engine, number>;
  for (const e of ENGINES) batch[e] = calibrate(workloads[e], 0.5);
  const samples: Record<Engine, number[]> = { casl: [], casbin: [], latchkey: [], latchkeyNew: [] };
  let checksum = 0;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < ENGINES.length; k++) {
      const e = ENGINES[(round + k) % ENGINES.length] as Engine;
      const t = timeFor(workloads[e], batch[e], seconds);
      // Every pass must have allowed exactly the expected checks.
      if (t.result !== t.reps * allowedPerPass) throw new Error(`${e}: wrong answers while timed`);
      checksum = (checksum * 31 + t.result) % 2 ** 32;
      samples[e].push((t.perSecond * n) / 1000);
    }
  }

  const casl = median(samples.casl);
  const casbin = median(samples.casbin);
  const latchkey = median(samples.latchkey);
  const latchkeyNew = median(samples.latchkeyNew);
  const version = (pkg: string) =>
    (
      JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
  report(
    'authz',
    [
      { name: 'CASL ability.can(), ability built once (baseline)', value: casl, unit: 'k checks/s' },
      {
        name: 'casbin enforceSync(), enforcer built once',
        value: casbin,
        unit: 'k checks/s',
        ratio: casbin / casl,
      },
      {
        name: 'Latchkey authorize(), same Subject (cached)',
        value: latchkey,
        unit: 'k checks/s',
        ratio: latchkey / casl,
        target: 'ratio >= 1.2',
        met: latchkey / casl >= 1.2,
      },
      {
        name: 'Latchkey expandRoles + new Subject + 1st check',
        value: latchkeyNew,
        unit: 'k checks/s',
        ratio: latchkeyNew / casl,
        target: '> 200 k/s',
        met: latchkeyNew > 200,
      },
    ],
    {
      versions: { '@casl/ability': version('@casl/ability'), casbin: version('casbin') },
      policy: {
        latchkeyRoles: roles.length,
        caslRules: ability.rules.length,
        casbinPolicies: policy.policies.length,
      },
      checks: n,
      allowedPerPass,
      seconds,
      rounds,
      samplesKChecksPerSecond: samples,
      checksum,
    },
  );
  // report() prints ratios to two decimals; casbin's is far smaller.
  console.log(
    `  casbin = 1/${Math.round(casl / casbin)} of CASL; checksum ${checksum} (${n} checks per pass, ${allowedPerPass} allowed)`,
  );
}
