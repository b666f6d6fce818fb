import type { RowFilter } from '../db/index.ts';
import type { AuthzObject } from './object.ts';
import type { Action, ResourceType } from './resources.ts';
import { DECISION, type Subject } from './subject.ts';

/** The subject may not do this. Handlers map it to 403, or 404 where existence would leak. */
export class ForbiddenError extends Error {
  readonly action: Action;
  readonly object: AuthzObject;
  constructor(action: Action, object: AuthzObject) {
    super(`not allowed to ${action} ${object.type}${object.id === undefined ? '' : ` ${object.id}`}`);
    this.name = 'ForbiddenError';
    this.action = action;
    this.object = object;
  }
}

export type CheckRecorder = (check: { action: Action; object: AuthzObject; allowed: boolean }) => void;

/** Whether `subject` may perform `action` on `object`. */
export function authorize(subject: Subject, action: Action, object: AuthzObject): boolean {
  return subject.can(action, object);
}

/** authorize(), throwing ForbiddenError on a refusal. */
export function mustAuthorize(subject: Subject, action: Action, object: AuthzObject): void {
  if (!subject.can(action, object)) throw new ForbiddenError(action, object);
}

/**
 * A filter for listing objects of one type: the data layer's RowFilter, pushed into SQL
 * (see db/store/filter.ts for what each field means), plus the same decision in memory.
 */
export interface Prepared extends RowFilter {
  /** The in-memory form of the same filter. */
  matches(object: AuthzObject): boolean;
}

export function prepare(subject: Subject, action: Action, type: ResourceType): Prepared {
  const d = subject.decision(type, action);
  const matches = (object: AuthzObject) => subject.can(action, object);
  let ids: string[] | undefined;
  if (subject.allowList !== undefined) {
    const relevant = subject.allowList.filter((e) => e.type === '*' || e.type === type);
    if (!relevant.some((e) => e.id === '*')) ids = relevant.map((e) => e.id);
  }
  const decided = {
    orgIds: [],
    deniedOrgIds: [],
    ownerId: undefined,
    ownerOrgIds: [],
    ids,
    subjectId: subject.id,
    matches,
  };
  if (!d.scoped || ids?.length === 0 || d.site === DECISION.DENY)
    return { ...decided, all: false, none: true };
  if (d.site === DECISION.ALLOW) return { ...decided, all: true, none: false };
  const orgIds: string[] = [];
  const deniedOrgIds: string[] = [];
  for (const [org, v] of d.orgs ?? []) {
    if (v === DECISION.ALLOW) orgIds.push(org);
    else if (v === DECISION.DENY) deniedOrgIds.push(org);
  }
  const ownerOrgIds: string[] = [];
  // A site-level negative on owned objects denies ownership everywhere (see Subject.can).
  if (d.userSite !== DECISION.DENY) {
    for (const [org, v] of d.userOrgs ?? []) {
      if (v === DECISION.ALLOW && !deniedOrgIds.includes(org)) ownerOrgIds.push(org);
    }
  }
  const ownerId = d.userSite === DECISION.ALLOW ? subject.id : undefined;
  const none = orgIds.length === 0 && ownerId === undefined && ownerOrgIds.length === 0;
  return {
    all: false,
    none,
    orgIds,
    deniedOrgIds,
    ownerId,
    ownerOrgIds,
    ids,
    subjectId: subject.id,
    matches,
  };
}
