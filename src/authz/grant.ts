import { covers, type Permission } from './permission.ts';
import type { Role } from './roles.ts';
import type { Subject } from './subject.ts';

/**
 * Whether `subject` holds every permission `role` grants, at the same or a broader level.
 * Granting (or revoking) a role you do not hold would let anyone with the right to
 * assign roles escalate their own privileges, so assignment requires both this and the
 * `assign`/`unassign` permission. Owners hold `*` and may grant anything.
 */
export function holdsRole(subject: Subject, role: Role): boolean {
  const org = role.id.organizationId;
  const siteHeld = subject.roles.flatMap((r) => r.site);
  const orgHeld =
    org === undefined ? [] : subject.roles.filter((r) => r.id.organizationId === org).flatMap((r) => r.org);
  const userHeld = subject.roles
    .filter((r) => r.id.organizationId === undefined || r.id.organizationId === org)
    .flatMap((r) => r.user);
  const held = (wanted: Permission, pools: Permission[][]) =>
    pools.some((pool) => pool.some((h) => covers(h, wanted)));
  return (
    role.site.every((p) => p.negate || held(p, [siteHeld])) &&
    role.org.every((p) => p.negate || held(p, [siteHeld, orgHeld])) &&
    role.user.every((p) => p.negate || held(p, [siteHeld, orgHeld, userHeld]))
  );
}
