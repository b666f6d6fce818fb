import { type ExpressionBuilder, type ExpressionWrapper, type SqlBool, sql } from 'kysely';

/**
 * A row filter computed by the authorizer (authz `prepare()` returns one) and applied in
 * SQL, so lists are filtered by the database rather than fetched whole and trimmed.
 * Declared here, structurally, so the data layer does not depend on authz.
 */
export interface RowFilter {
  readonly all: boolean;
  readonly none: boolean;
  readonly orgIds: readonly string[];
  readonly deniedOrgIds: readonly string[];
  readonly ownerId: string | undefined;
  readonly ownerOrgIds: readonly string[];
  readonly ids: readonly string[] | undefined;
  /** Whose ownership `ownerOrgIds` refers to. */
  readonly subjectId: string;
}

/** Which column holds what, for one table. */
export interface FilterColumns {
  readonly id: string;
  readonly org?: string;
  readonly owner?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the filter applies to any table.
type AnyBuilder = ExpressionBuilder<any, any>;
// biome-ignore lint/suspicious/noExplicitAny: the filter applies to any table.
type AnyCondition = ExpressionWrapper<any, any, SqlBool>;

export function applyFilter(eb: AnyBuilder, f: RowFilter, cols: FilterColumns): AnyCondition {
  if (f.none) return eb.val(false) as never;
  const idCol = sql.ref(cols.id);
  const ids = f.ids === undefined ? undefined : eb(idCol, 'in', f.ids.length > 0 ? [...f.ids] : ['']);
  if (f.all) return (ids ?? eb.val(true)) as never;
  const branches = [];
  if (cols.org && f.orgIds.length > 0) branches.push(eb(sql.ref(cols.org), 'in', [...f.orgIds]));
  if (cols.owner && f.ownerId !== undefined) {
    const owned = eb(sql.ref(cols.owner), '=', f.ownerId);
    branches.push(
      cols.org && f.deniedOrgIds.length > 0
        ? eb.and([
            owned,
            eb.or([eb(sql.ref(cols.org), 'is', null), eb(sql.ref(cols.org), 'not in', [...f.deniedOrgIds])]),
          ])
        : owned,
    );
  }
  if (cols.owner && cols.org && f.ownerOrgIds.length > 0) {
    // Rows the subject owns in organizations whose roles grant owners this action.
    branches.push(
      eb.and([eb(sql.ref(cols.org), 'in', [...f.ownerOrgIds]), eb(sql.ref(cols.owner), '=', f.subjectId)]),
    );
  }
  if (branches.length === 0) return eb.val(false) as never;
  const any = eb.or(branches);
  return (ids ? eb.and([any, ids]) : any) as never;
}
