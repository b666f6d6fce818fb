export const IDENTITY_ERROR_KINDS = ['invalid', 'not_found', 'conflict'] as const;
export type IdentityErrorKind = (typeof IDENTITY_ERROR_KINDS)[number];

/** A refusal by the identity rules (not by authorization): 400, 404 or 409 at the API. */
export class IdentityError extends Error {
  readonly kind: IdentityErrorKind;
  readonly detail: string | undefined;
  constructor(kind: IdentityErrorKind, message: string, detail?: string) {
    super(message);
    this.name = 'IdentityError';
    this.kind = kind;
    this.detail = detail;
  }
}
