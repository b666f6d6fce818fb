import { isResourceType, type ResourceType } from './resources.ts';

/** One allow-list entry: `type:id`, either part may be `*`. */
export interface AllowListEntry {
  readonly type: ResourceType | '*';
  readonly id: string;
}

export const MAX_ALLOW_LIST_ENTRIES = 128;

export type AllowListResult = { ok: true; entries: AllowListEntry[] } | { ok: false; error: string };

/**
 * Parses and normalises an allow-list: lower-case types, duplicates removed, `*:*`
 * absorbing everything else (an empty result then means "no restriction"), unknown types
 * and oversized lists refused.
 */
export function parseAllowList(raw: readonly string[]): AllowListResult {
  if (raw.length > MAX_ALLOW_LIST_ENTRIES) {
    return { ok: false, error: `an allow-list holds at most ${MAX_ALLOW_LIST_ENTRIES} entries` };
  }
  const seen = new Map<string, AllowListEntry>();
  for (const text of raw) {
    const i = text.indexOf(':');
    const type = (i < 0 ? '' : text.slice(0, i)).trim().toLowerCase();
    const id = i < 0 ? '' : text.slice(i + 1).trim();
    if (!type || !id) return { ok: false, error: `allow-list entry "${text}" is not of the form type:id` };
    if (type !== '*' && !isResourceType(type)) {
      return { ok: false, error: `allow-list entry "${text}" names an unknown resource type "${type}"` };
    }
    if (type === '*' && id === '*') return { ok: true, entries: [] };
    seen.set(`${type}:${id}`, { type: type as ResourceType | '*', id });
  }
  // `workspace:*` makes `workspace:<id>` redundant.
  const entries = [...seen.values()].filter((e) => e.id === '*' || !seen.has(`${e.type}:*`));
  return { ok: true, entries };
}

export function formatAllowList(entries: readonly AllowListEntry[]): string[] {
  return entries.length === 0 ? ['*:*'] : entries.map((e) => `${e.type}:${e.id}`);
}

export function allowListPermits(
  entries: readonly AllowListEntry[],
  type: ResourceType,
  id: string | undefined,
): boolean {
  for (const e of entries) {
    if ((e.type === '*' || e.type === type) && (e.id === '*' || e.id === id)) return true;
  }
  return false;
}
