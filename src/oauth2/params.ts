import { OAuthError } from './errors.ts';

// The parameters of an OAuth request (a query string or a form body). RFC 6749 §3.1 and
// §3.2: a parameter sent twice is an error, and one sent empty counts as absent. Values
// are capped in length so nothing downstream handles megabytes of client_id.

const MAX_VALUE_LENGTH = 8192;

export class OAuthParams {
  readonly #values: URLSearchParams;

  constructor(values: URLSearchParams) {
    this.#values = values;
  }

  static fromQuery(url: string): OAuthParams {
    const q = url.indexOf('?');
    return new OAuthParams(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
  }

  /** Whether the parameter was sent more than once. */
  repeated(name: string): boolean {
    return this.#values.getAll(name).length > 1;
  }

  /** The value, or undefined when absent or empty; invalid_request when repeated or oversized. */
  optional(name: string, code: 'invalid_request' | 'invalid_target' = 'invalid_request'): string | undefined {
    const all = this.#values.getAll(name);
    if (all.length > 1) throw new OAuthError(code, `${name} was sent more than once`);
    const value = all[0];
    if (value === undefined || value === '') return undefined;
    if (value.length > MAX_VALUE_LENGTH) throw new OAuthError(code, `${name} is too long`);
    return value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw new OAuthError('invalid_request', `${name} is required`);
    return value;
  }

  /** Every parameter, for re-posting an authorization request through the consent form. */
  entries(): Array<[string, string]> {
    return [...this.#values.entries()];
  }
}
