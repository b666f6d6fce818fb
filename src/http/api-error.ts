/**
 * An error meant for the API caller: its status, a message a person can act on, and an
 * optional detail. Anything that is not an ApiError (or a 4xx from fastify itself) is
 * reported as a 500 with a generic message and logged: internals never reach the client.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string | undefined;
  constructor(status: number, message: string, detail?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

/** The one JSON error shape of every API response. */
export interface ErrorBody {
  message: string;
  detail?: string;
}

export function errorBody(message: string, detail?: string): ErrorBody {
  return detail === undefined ? { message } : { message, detail };
}
