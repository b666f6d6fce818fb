import type { Action, ResourceType } from './resources.ts';

/** `*` matches every resource type or every action. */
export type Wildcard = '*';

export interface Permission {
  readonly resourceType: ResourceType | Wildcard;
  readonly action: Action | Wildcard;
  /** A negative permission denies outright at its level, whatever else allows. */
  readonly negate: boolean;
}

export function allow(
  resourceType: ResourceType | Wildcard,
  ...actions: Array<Action | Wildcard>
): Permission[] {
  return actions.map((action) => ({ resourceType, action, negate: false }));
}

export function deny(
  resourceType: ResourceType | Wildcard,
  ...actions: Array<Action | Wildcard>
): Permission[] {
  return actions.map((action) => ({ resourceType, action, negate: true }));
}

export function matches(p: Permission, type: ResourceType, action: Action): boolean {
  return (p.resourceType === '*' || p.resourceType === type) && (p.action === '*' || p.action === action);
}

/** Whether `held` grants at least what `wanted` grants (used to stop privilege escalation). */
export function covers(held: Permission, wanted: Permission): boolean {
  return (
    !held.negate &&
    (held.resourceType === '*' || held.resourceType === wanted.resourceType) &&
    (held.action === '*' || held.action === wanted.action)
  );
}
