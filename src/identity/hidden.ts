import { ForbiddenError } from '../authz/index.ts';

/**
 * A lookup through the authorized store, where a row the caller may not read counts as
 * missing (so existence does not leak). Any other failure, such as the database, is not
 * an answer about the row and propagates: it must never become a 404 or a 400.
 */
export async function unlessHidden<T>(lookup: Promise<T | undefined> | undefined): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (err) {
    if (err instanceof ForbiddenError) return undefined;
    throw err;
  }
}
