/** An update or delete addressed a row that does not exist (or no longer does). */
export class RowNotFoundError extends Error {
  readonly table: string;
  constructor(table: string) {
    super(`no such row in ${table}`);
    this.name = 'RowNotFoundError';
    this.table = table;
  }
}
