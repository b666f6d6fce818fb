import type {
  ApiKey,
  ApiKeyLoginType,
  CustomRole,
  DbcryptKey,
  ExternalAuthLink,
  ExternalAuthLinkState,
  InsertApiKeyArgs,
  InsertCustomRoleArgs,
  InsertExternalAuthLinkStateArgs,
  InsertOAuth2AppArgs,
  InsertOAuth2CodeArgs,
  InsertOAuth2SigningKeyArgs,
  InsertUserArgs,
  LinkKey,
  LinkTokens,
  ListUsersArgs,
  MemberKey,
  OAuth2AccessKeyArgs,
  OAuth2App,
  OAuth2AppFields,
  OAuth2AppSecret,
  OAuth2CodeState,
  OAuth2Consent,
  OAuth2Issued,
  OAuth2RefreshToken,
  OAuth2RefreshTokenState,
  OAuth2SigningKey,
  OAuth2SuccessorKey,
  OAuth2UserApp,
  OidcLink,
  Organization,
  OrganizationMember,
  RedeemOAuth2CodeArgs,
  RedeemOAuth2CodeByHashArgs,
  RotateOAuth2RefreshTokenArgs,
  RotateOAuth2RefreshTokenByHashArgs,
  SecretMatch,
  SecretRow,
  SecretTable,
  Store,
  TxOptions,
  UpsertOidcLinkArgs,
  User,
  UserStatus,
} from '../db/index.ts';
import { type CheckRecorder, ForbiddenError, prepare } from './authorize.ts';
import { customRoleFromRow, permissionFromStored } from './custom-role.ts';
import { holdsRole } from './grant.ts';
import { type AuthzObject, objects } from './object.ts';
import type { Permission } from './permission.ts';
import { type Action, isResourceType } from './resources.ts';
import { orgRole, siteRole } from './role-id.ts';
import { builtInRole, type Role } from './roles.ts';
import type { Subject } from './subject.ts';

/**
 * The store as seen by one actor: the same interface as the raw store, with every method
 * checked. Reads of one object fetch it, then check it (a refusal is a ForbiddenError with
 * action `read`, which the API reports as 404 so existence does not leak). Lists push the
 * actor's filter into SQL. Writes check before they write, and role grants also require
 * holding the role granted (no privilege escalation).
 *
 * Every method of the raw store must appear here (TypeScript enforces it) and must have a
 * case in test/authorized-store.test.ts (that test enumerates the raw store to make sure).
 */
export class AuthorizedStore implements Store {
  readonly actor: Subject;
  readonly #inner: Store;
  readonly #record: CheckRecorder | undefined;

  constructor(inner: Store, actor: Subject, record?: CheckRecorder) {
    this.#inner = inner;
    this.actor = actor;
    this.#record = record;
  }

  #check(action: Action, object: AuthzObject): void {
    const allowed = this.actor.can(action, object);
    this.#record?.({ action, object, allowed });
    if (!allowed) throw new ForbiddenError(action, object);
  }

  /** Fetch-then-check for reads of one object. */
  #visible<T>(row: T | undefined, toObject: (row: T) => AuthzObject): T | undefined {
    if (row !== undefined) this.#check('read', toObject(row));
    return row;
  }

  async #mustSee<T>(
    row: Promise<T | undefined>,
    toObject: (row: T) => AuthzObject,
    notFound: AuthzObject,
  ): Promise<T> {
    const found = await row;
    // Missing and hidden look the same to the caller: both are a refused read.
    if (found === undefined) throw new ForbiddenError('read', notFound);
    this.#check('read', toObject(found));
    return found;
  }

  async #checkGrant(
    action: 'assign' | 'unassign',
    role: Role | undefined,
    object: AuthzObject,
    name: string,
  ): Promise<void> {
    this.#check(action, object);
    const allowed = role !== undefined && holdsRole(this.actor, role);
    this.#record?.({ action, object: { ...object, id: name }, allowed });
    if (!allowed) throw new ForbiddenError(action, { ...object, id: name });
  }

  async #orgRole(organizationId: string, name: string): Promise<Role | undefined> {
    const builtIn = builtInRole(orgRole(name, organizationId));
    if (builtIn) return builtIn;
    const row = await this.#inner.getCustomRole({ organizationId, name });
    return row ? customRoleFromRow(row) : undefined;
  }

  async #grantSiteRoles(before: readonly string[], after: readonly string[]): Promise<void> {
    for (const name of after.filter((r) => !before.includes(r))) {
      await this.#checkGrant('assign', builtInRole(siteRole(name)), objects.assignRole(), name);
    }
    for (const name of before.filter((r) => !after.includes(r))) {
      await this.#checkGrant('unassign', builtInRole(siteRole(name)), objects.assignRole(), name);
    }
  }

  async #grantOrgRoles(
    organizationId: string,
    before: readonly string[],
    after: readonly string[],
  ): Promise<void> {
    const object = objects.assignOrgRole(organizationId);
    for (const name of after.filter((r) => !before.includes(r))) {
      await this.#checkGrant('assign', await this.#orgRole(organizationId, name), object, name);
    }
    for (const name of before.filter((r) => !after.includes(r))) {
      await this.#checkGrant('unassign', await this.#orgRole(organizationId, name), object, name);
    }
  }

  /**
   * Suspending or deleting an owner takes an owner: a user admin may manage users but
   * must not be able to lock out the people who can remove their own role.
   */
  #checkOwnerTouch(user: User, action: 'update' | 'delete'): void {
    if (!user.rbac_roles.includes('owner')) return;
    const owner = builtInRole(siteRole('owner'));
    const allowed = owner !== undefined && holdsRole(this.actor, owner);
    const object: AuthzObject = { type: 'user', id: user.id };
    this.#record?.({ action, object, allowed });
    if (!allowed) throw new ForbiddenError(action, object);
  }

  inTx<T>(fn: (store: Store) => Promise<T>, options: TxOptions): Promise<T> {
    return this.#inner.inTx((tx) => fn(new AuthorizedStore(tx, this.actor, this.#record)), options);
  }

  // Users

  async getUserById(arg: { id: string }): Promise<User | undefined> {
    return this.#visible(await this.#inner.getUserById(arg), objects.user);
  }

  async getUserByUsername(arg: { username: string }): Promise<User | undefined> {
    return this.#visible(await this.#inner.getUserByUsername(arg), objects.user);
  }

  async getUserByEmail(arg: { email: string }): Promise<User | undefined> {
    return this.#visible(await this.#inner.getUserByEmail(arg), objects.user);
  }

  listUsers(arg: ListUsersArgs): Promise<User[]> {
    const filter = prepare(this.actor, 'read', 'user');
    // System and deleted users are shown only to those who may read every user.
    return this.#inner.listUsers(
      {
        ...arg,
        includeSystem: arg.includeSystem && filter.all,
        includeDeleted: (arg.includeDeleted ?? false) && filter.all,
      },
      filter,
    );
  }

  async insertUser(arg: InsertUserArgs): Promise<User> {
    this.#check('create', objects.any('user'));
    await this.#grantSiteRoles([], arg.siteRoles ?? []);
    return this.#inner.insertUser(arg);
  }

  async updateUserStatus(arg: { id: string; status: UserStatus }): Promise<User> {
    const user = await this.#mustSee(this.#inner.getUserById(arg), objects.user, {
      type: 'user',
      id: arg.id,
    });
    // Status is administrative: checked without ownership, so nobody suspends or
    // reactivates themselves through the permissions they hold on their own user.
    this.#check('update', { type: 'user', id: user.id });
    this.#checkOwnerTouch(user, 'update');
    return this.#inner.updateUserStatus(arg);
  }

  async updateUserSiteRoles(arg: { id: string; roles: readonly string[] }): Promise<User> {
    const user = await this.#mustSee(this.#inner.getUserById(arg), objects.user, {
      type: 'user',
      id: arg.id,
    });
    await this.#grantSiteRoles(user.rbac_roles, arg.roles);
    return this.#inner.updateUserSiteRoles(arg);
  }

  async softDeleteUser(arg: { id: string }): Promise<void> {
    const user = await this.#mustSee(this.#inner.getUserById(arg), objects.user, {
      type: 'user',
      id: arg.id,
    });
    this.#check('delete', { type: 'user', id: user.id });
    this.#checkOwnerTouch(user, 'delete');
    return this.#inner.softDeleteUser(arg);
  }

  async lockActiveOwners(): Promise<string[]> {
    this.#check('read', objects.any('user'));
    return this.#inner.lockActiveOwners();
  }

  // Organizations

  async getOrganizationById(arg: { id: string }): Promise<Organization | undefined> {
    return this.#visible(await this.#inner.getOrganizationById(arg), objects.organization);
  }

  async getOrganizationByName(arg: { name: string }): Promise<Organization | undefined> {
    return this.#visible(await this.#inner.getOrganizationByName(arg), objects.organization);
  }

  async getDefaultOrganization(): Promise<Organization> {
    const org = await this.#inner.getDefaultOrganization();
    this.#check('read', objects.organization(org));
    return org;
  }

  listOrganizations(arg: { limit: number }): Promise<Organization[]> {
    return this.#inner.listOrganizations(arg, prepare(this.actor, 'read', 'organization'));
  }

  async insertOrganization(arg: {
    name: string;
    displayName?: string;
    description?: string;
  }): Promise<Organization> {
    this.#check('create', objects.any('organization'));
    return this.#inner.insertOrganization(arg);
  }

  // Organization members

  async getOrganizationMember(arg: MemberKey): Promise<OrganizationMember | undefined> {
    return this.#visible(await this.#inner.getOrganizationMember(arg), objects.member);
  }

  listOrganizationMembers(arg: { organizationId: string; limit: number }): Promise<OrganizationMember[]> {
    return this.#inner.listOrganizationMembers(arg, prepare(this.actor, 'read', 'organization_member'));
  }

  listMembershipsOfUser(arg: { userId: string }): Promise<OrganizationMember[]> {
    return this.#inner.listMembershipsOfUser(arg, prepare(this.actor, 'read', 'organization_member'));
  }

  async insertOrganizationMember(arg: MemberKey & { roles: readonly string[] }): Promise<OrganizationMember> {
    this.#check('create', objects.member({ organization_id: arg.organizationId, user_id: arg.userId }));
    await this.#grantOrgRoles(arg.organizationId, [], arg.roles);
    return this.#inner.insertOrganizationMember(arg);
  }

  async updateOrganizationMemberRoles(
    arg: MemberKey & { roles: readonly string[] },
  ): Promise<OrganizationMember> {
    const member = await this.#mustSee(
      this.#inner.getOrganizationMember(arg),
      objects.member,
      memberObject(arg),
    );
    this.#check('update', objects.member(member));
    await this.#grantOrgRoles(arg.organizationId, member.roles, arg.roles);
    return this.#inner.updateOrganizationMemberRoles(arg);
  }

  async deleteOrganizationMember(arg: MemberKey): Promise<void> {
    const member = await this.#mustSee(
      this.#inner.getOrganizationMember(arg),
      objects.member,
      memberObject(arg),
    );
    this.#check('delete', objects.member(member));
    return this.#inner.deleteOrganizationMember(arg);
  }

  // Custom roles

  async getCustomRole(arg: { organizationId: string; name: string }): Promise<CustomRole | undefined> {
    return this.#visible(await this.#inner.getCustomRole(arg), objects.customRole);
  }

  listCustomRoles(arg: { organizationIds: readonly string[] }): Promise<CustomRole[]> {
    return this.#inner.listCustomRoles(arg, prepare(this.actor, 'read', 'role'));
  }

  async insertCustomRole(arg: InsertCustomRoleArgs): Promise<CustomRole> {
    this.#check('create', objects.any('role', arg.organizationId));
    // Creating a role that grants more than you hold would be an escalation by proxy.
    const parse = (ps: InsertCustomRoleArgs['orgPermissions']) =>
      ps.map(permissionFromStored).filter((p): p is Permission => p !== undefined);
    const role: Role = {
      id: orgRole(arg.name, arg.organizationId),
      displayName: arg.displayName,
      site: [],
      org: parse(arg.orgPermissions),
      user: parse(arg.userPermissions),
      builtIn: false,
    };
    if (!holdsRole(this.actor, role))
      throw new ForbiddenError('create', { type: 'role', id: arg.name, orgId: arg.organizationId });
    return this.#inner.insertCustomRole(arg);
  }

  async softDeleteCustomRole(arg: { organizationId: string; name: string }): Promise<void> {
    const role = await this.#mustSee(this.#inner.getCustomRole(arg), objects.customRole, {
      type: 'role',
      id: arg.name,
      orgId: arg.organizationId,
    });
    this.#check('delete', objects.customRole(role));
    return this.#inner.softDeleteCustomRole(arg);
  }

  // API keys

  async getApiKeyById(arg: { id: string }): Promise<ApiKey | undefined> {
    return this.#visible(await this.#inner.getApiKeyById(arg), apiKeyObject);
  }

  async getApiKeyByName(arg: { userId: string; name: string }): Promise<ApiKey | undefined> {
    return this.#visible(await this.#inner.getApiKeyByName(arg), apiKeyObject);
  }

  async listApiKeysOfUser(arg: {
    userId: string;
    loginType?: ApiKeyLoginType | undefined;
  }): Promise<ApiKey[]> {
    return this.#inner.listApiKeysOfUser(arg, prepare(this.actor, 'read', 'api_key'));
  }

  async insertApiKey(arg: InsertApiKeyArgs): Promise<ApiKey> {
    this.#check('create', { type: 'api_key', ownerId: arg.userId });
    return this.#inner.insertApiKey(arg);
  }

  // Bookkeeping on the authentication path: checked without fetching (no owner known), so
  // only site-level grants (systemAuthn) pass, and validation costs no extra query.
  async updateApiKeyLastUsed(arg: { id: string; now: Date }): Promise<boolean> {
    this.#check('update', { type: 'api_key', id: arg.id });
    return this.#inner.updateApiKeyLastUsed(arg);
  }

  async updateApiKeyExpiry(arg: { id: string; expiresAt: Date }): Promise<void> {
    this.#check('update', { type: 'api_key', id: arg.id });
    return this.#inner.updateApiKeyExpiry(arg);
  }

  async deleteApiKey(arg: { id: string }): Promise<void> {
    const key = await this.#mustSee(this.#inner.getApiKeyById(arg), apiKeyObject, {
      type: 'api_key',
      id: arg.id,
    });
    this.#check('delete', apiKeyObject(key));
    return this.#inner.deleteApiKey(arg);
  }

  async deleteExpiredApiKeys(arg: { before: Date }): Promise<number> {
    this.#check('delete', objects.any('api_key'));
    return this.#inner.deleteExpiredApiKeys(arg);
  }

  // External-auth links: the object's id is the provider, so an allow-list entry such as
  // `external_auth_link:github` limits a key to that provider's tokens.

  async getExternalAuthLink(arg: LinkKey): Promise<ExternalAuthLink | undefined> {
    return this.#visible(await this.#inner.getExternalAuthLink(arg), linkObject);
  }

  listExternalAuthLinksOfUser(arg: { userId: string }): Promise<ExternalAuthLink[]> {
    return this.#inner.listExternalAuthLinksOfUser(arg, prepare(this.actor, 'read', 'external_auth_link'));
  }

  async upsertExternalAuthLink(
    arg: LinkKey & { tokens: LinkTokens; upstreamLogin?: string | undefined },
  ): Promise<ExternalAuthLink> {
    this.#check('create', linkKeyObject(arg));
    this.#check('update', linkKeyObject(arg));
    return this.#inner.upsertExternalAuthLink(arg);
  }

  // Refresh bookkeeping: checked against the key alone (no fetch), so it costs nothing
  // extra on the refresh path; the refresher's site-wide grant passes, and so does the owner.
  async updateExternalAuthLinkRefreshToken(
    arg: LinkKey & { oldRefreshToken: string; tokens: LinkTokens },
  ): Promise<boolean> {
    this.#check('update', linkKeyObject(arg));
    return this.#inner.updateExternalAuthLinkRefreshToken(arg);
  }

  async updateExternalAuthLinkRefreshFailure(
    arg: LinkKey & { oldRefreshToken: string; reason: string },
  ): Promise<boolean> {
    this.#check('update', linkKeyObject(arg));
    return this.#inner.updateExternalAuthLinkRefreshFailure(arg);
  }

  async deleteExternalAuthLink(arg: LinkKey): Promise<ExternalAuthLink | undefined> {
    await this.#mustSee(this.#inner.getExternalAuthLink(arg), linkObject, linkKeyObject(arg));
    this.#check('delete', linkKeyObject(arg));
    return this.#inner.deleteExternalAuthLink(arg);
  }

  async insertExternalAuthLinkState(arg: InsertExternalAuthLinkStateArgs): Promise<void> {
    this.#check('create', linkKeyObject(arg));
    return this.#inner.insertExternalAuthLinkState(arg);
  }

  // A device flow's state is read on every poll: the caller must be allowed to link for the
  // user who started it, or a leaked device code would link into (or from) their account.
  async getExternalAuthLinkState(arg: {
    stateHash: Buffer;
    now: Date;
  }): Promise<ExternalAuthLinkState | undefined> {
    const state = await this.#inner.getExternalAuthLinkState(arg);
    if (state) this.#check('create', linkKeyObject({ userId: state.user_id, providerId: state.provider_id }));
    return state;
  }

  async consumeExternalAuthLinkState(arg: {
    stateHash: Buffer;
    now: Date;
  }): Promise<ExternalAuthLinkState | undefined> {
    // Whose flow it is shows only once it is taken; someone else's state is burnt, not
    // reported (a state that leaked to another user is then useless to both).
    const state = await this.#inner.consumeExternalAuthLinkState(arg);
    if (state) this.#check('create', linkKeyObject({ userId: state.user_id, providerId: state.provider_id }));
    return state;
  }

  // OIDC login links: owned by their user; sign-in (systemSessions) and authentication
  // (systemAuthn) are the only writers.

  async getOidcLinkByUser(arg: { userId: string }): Promise<OidcLink | undefined> {
    return this.#visible(await this.#inner.getOidcLinkByUser(arg), oidcLinkObject);
  }

  async getOidcLinkBySubject(arg: { issuer: string; subject: string }): Promise<OidcLink | undefined> {
    return this.#visible(await this.#inner.getOidcLinkBySubject(arg), oidcLinkObject);
  }

  async upsertOidcLink(arg: UpsertOidcLinkArgs): Promise<OidcLink> {
    this.#check('create', { type: 'oidc_link', id: arg.userId, ownerId: arg.userId });
    this.#check('update', { type: 'oidc_link', id: arg.userId, ownerId: arg.userId });
    return this.#inner.upsertOidcLink(arg);
  }

  async updateOidcLinkRefreshToken(arg: {
    userId: string;
    oldRefreshToken: string;
    tokens: LinkTokens;
  }): Promise<boolean> {
    this.#check('update', { type: 'oidc_link', id: arg.userId, ownerId: arg.userId });
    return this.#inner.updateOidcLinkRefreshToken(arg);
  }

  async updateOidcLinkRefreshFailure(arg: {
    userId: string;
    oldRefreshToken: string;
    reason: string;
  }): Promise<boolean> {
    this.#check('update', { type: 'oidc_link', id: arg.userId, ownerId: arg.userId });
    return this.#inner.updateOidcLinkRefreshFailure(arg);
  }

  // Encryption at rest (dbcrypt): its keys, and bulk access to secret columns as stored.
  // Bulk access covers a whole table, so it takes a site-wide grant on the table's
  // resource (systemDbcrypt holds one); no user's permissions on their own rows suffice.

  // JWT access-token signing keys: the authorization server's own, shared by its replicas.

  async listOAuth2SigningKeys(): Promise<OAuth2SigningKey[]> {
    this.#check('read', objects.any('oauth2_signing_key'));
    return this.#inner.listOAuth2SigningKeys();
  }

  async insertOAuth2SigningKey(arg: InsertOAuth2SigningKeyArgs): Promise<boolean> {
    this.#check('create', objects.any('oauth2_signing_key'));
    return this.#inner.insertOAuth2SigningKey(arg);
  }

  async deleteRetiredOAuth2SigningKeys(arg: { retiredBefore: Date }): Promise<number> {
    this.#check('delete', objects.any('oauth2_signing_key'));
    return this.#inner.deleteRetiredOAuth2SigningKeys(arg);
  }

  async listDbcryptKeys(): Promise<DbcryptKey[]> {
    this.#check('read', objects.any('dbcrypt_key'));
    return this.#inner.listDbcryptKeys();
  }

  async insertDbcryptKey(arg: { digest: string }): Promise<void> {
    this.#check('create', objects.any('dbcrypt_key'));
    return this.#inner.insertDbcryptKey(arg);
  }

  async revokeDbcryptKeys(arg: { digests: readonly string[] }): Promise<string[]> {
    this.#check('update', objects.any('dbcrypt_key'));
    return this.#inner.revokeDbcryptKeys(arg);
  }

  async countSecretRows(arg: { table: SecretTable; match: SecretMatch }): Promise<number> {
    this.#check('read', secretTableObject(arg.table));
    return this.#inner.countSecretRows(arg);
  }

  async lockSecretRows(arg: {
    table: SecretTable;
    match: SecretMatch;
    after: readonly string[] | undefined;
    limit: number;
  }): Promise<SecretRow[]> {
    this.#check('read', secretTableObject(arg.table));
    this.#check('update', secretTableObject(arg.table));
    return this.#inner.lockSecretRows(arg);
  }

  async updateSecretRows(arg: { table: SecretTable; rows: readonly SecretRow[] }): Promise<number> {
    this.#check('update', secretTableObject(arg.table));
    return this.#inner.updateSecretRows(arg);
  }

  async clearSecretRows(arg: {
    table: SecretTable;
    keys: ReadonlyArray<readonly string[]>;
  }): Promise<number> {
    this.#check('update', secretTableObject(arg.table));
    return this.#inner.clearSecretRows(arg);
  }

  async listSecretKeyDigests(arg: {
    table: SecretTable;
    column: string;
    prefix: string;
    length: number;
  }): Promise<string[]> {
    this.#check('read', secretTableObject(arg.table));
    return this.#inner.listSecretKeyDigests(arg);
  }

  // OAuth2 apps (clients). Reading one by client id is what every OAuth endpoint does
  // first, as systemOAuth2; creating one is an admin's act or a dynamic registration.

  async getOAuth2AppById(arg: { id: string }): Promise<OAuth2App | undefined> {
    return this.#visible(await this.#inner.getOAuth2AppById(arg), oauth2AppObject);
  }

  async getOAuth2AppByClientId(arg: { clientId: string }): Promise<OAuth2App | undefined> {
    return this.#visible(await this.#inner.getOAuth2AppByClientId(arg), oauth2AppObject);
  }

  async insertOAuth2App(arg: InsertOAuth2AppArgs): Promise<OAuth2App> {
    this.#check('create', objects.any('oauth2_app'));
    return this.#inner.insertOAuth2App(arg);
  }

  listOAuth2Apps(arg: { origin?: OAuth2App['origin'] | undefined; limit: number }): Promise<OAuth2App[]> {
    return this.#inner.listOAuth2Apps(arg, prepare(this.actor, 'read', 'oauth2_app'));
  }

  // A client ID metadata document is fetched on demand, so its row is created or refreshed
  // by whoever resolves it (systemClientRegistration): both actions, on any app.
  async upsertOAuth2AppFromDocument(arg: { clientId: string } & OAuth2AppFields): Promise<OAuth2App> {
    this.#check('create', objects.any('oauth2_app'));
    this.#check('update', objects.any('oauth2_app'));
    return this.#inner.upsertOAuth2AppFromDocument(arg);
  }

  async updateOAuth2App(arg: { id: string } & OAuth2AppFields): Promise<OAuth2App> {
    const app = await this.#mustSee(this.#inner.getOAuth2AppById(arg), oauth2AppObject, {
      type: 'oauth2_app',
      id: arg.id,
    });
    this.#check('update', oauth2AppObject(app));
    return this.#inner.updateOAuth2App(arg);
  }

  // Checked without fetching: the caller has just read the app to verify the old token.
  async updateOAuth2AppRegistrationToken(arg: {
    id: string;
    oldHash: Buffer;
    newHash: Buffer;
  }): Promise<boolean> {
    this.#check('update', { type: 'oauth2_app', id: arg.id });
    return this.#inner.updateOAuth2AppRegistrationToken(arg);
  }

  async deleteOAuth2App(arg: { id: string }): Promise<{ apiKeyIds: string[] }> {
    const app = await this.#mustSee(this.#inner.getOAuth2AppById(arg), oauth2AppObject, {
      type: 'oauth2_app',
      id: arg.id,
    });
    this.#check('delete', oauth2AppObject(app));
    return this.#inner.deleteOAuth2App(arg);
  }

  async insertOAuth2AppSecret(arg: {
    appId: string;
    displayPrefix: string;
    hashedSecret: Buffer;
  }): Promise<OAuth2AppSecret> {
    this.#check('create', { type: 'oauth2_app_secret', id: arg.appId });
    return this.#inner.insertOAuth2AppSecret(arg);
  }

  async listOAuth2AppSecrets(arg: { appId: string }): Promise<OAuth2AppSecret[]> {
    this.#check('read', { type: 'oauth2_app_secret', id: arg.appId });
    return this.#inner.listOAuth2AppSecrets(arg);
  }

  async deleteOAuth2AppSecret(arg: { appId: string; id: string }): Promise<void> {
    this.#check('delete', { type: 'oauth2_app_secret', id: arg.appId });
    return this.#inner.deleteOAuth2AppSecret(arg);
  }

  async deleteOAuth2AppSecrets(arg: { appId: string }): Promise<number> {
    this.#check('delete', { type: 'oauth2_app_secret', id: arg.appId });
    return this.#inner.deleteOAuth2AppSecrets(arg);
  }

  // OAuth2 grants: codes, refresh tokens, consent (resource oauth2_app_code_token, owned by
  // the user they were granted by) and the access tokens they issue (API keys). The
  // authorization server acts as systemOAuth2; a user lists and revokes their own.

  async insertOAuth2Code(arg: InsertOAuth2CodeArgs): Promise<void> {
    this.#check('create', grantObject(arg.userId));
    return this.#inner.insertOAuth2Code(arg);
  }

  async getOAuth2CodeByHash(arg: { codeHash: Buffer }): Promise<OAuth2CodeState | undefined> {
    return this.#visible(await this.#inner.getOAuth2CodeByHash(arg), (c) => grantObject(c.user_id, c.id));
  }

  // Redeeming consumes the code and mints tokens for its user: checked against the
  // arguments (no fetch), so the grant costs no extra query.
  async redeemOAuth2Code(arg: RedeemOAuth2CodeArgs): Promise<boolean> {
    this.#check('delete', grantObject(arg.userId, arg.codeId));
    this.#check('create', grantObject(arg.userId));
    this.#check('create', { type: 'api_key', ownerId: arg.userId });
    return this.#inner.redeemOAuth2Code(arg);
  }

  // The one-statement grants find their code or token by hash, so whose it is is known only
  // after the write: they take site-wide grants (systemOAuth2 holds them), never a user's.
  async redeemOAuth2CodeByHash(arg: RedeemOAuth2CodeByHashArgs): Promise<OAuth2Issued | undefined> {
    this.#check('delete', objects.any('oauth2_app_code_token'));
    this.#check('create', objects.any('oauth2_app_code_token'));
    this.#check('create', objects.any('api_key'));
    return this.#inner.redeemOAuth2CodeByHash(arg);
  }

  async rotateOAuth2RefreshTokenByHash(
    arg: RotateOAuth2RefreshTokenByHashArgs,
  ): Promise<OAuth2Issued | undefined> {
    this.#check('delete', objects.any('oauth2_app_code_token'));
    this.#check('create', objects.any('oauth2_app_code_token'));
    this.#check('create', objects.any('api_key'));
    return this.#inner.rotateOAuth2RefreshTokenByHash(arg);
  }

  async revokeOAuth2CodeGrant(arg: { codeId: string }): Promise<string[]> {
    this.#check('delete', { type: 'oauth2_app_code_token', id: arg.codeId });
    this.#check('delete', objects.any('api_key'));
    return this.#inner.revokeOAuth2CodeGrant(arg);
  }

  async getOAuth2RefreshTokenByHash(arg: {
    tokenHash: Buffer;
    graceSeconds: number;
  }): Promise<OAuth2RefreshTokenState | undefined> {
    return this.#visible(await this.#inner.getOAuth2RefreshTokenByHash(arg), (t) =>
      grantObject(t.user_id, t.id),
    );
  }

  async rotateOAuth2RefreshToken(arg: RotateOAuth2RefreshTokenArgs): Promise<boolean> {
    this.#check('delete', grantObject(arg.old.user_id, arg.old.id));
    this.#check('create', grantObject(arg.old.user_id));
    this.#check('create', { type: 'api_key', ownerId: arg.old.user_id });
    return this.#inner.rotateOAuth2RefreshToken(arg);
  }

  async getOAuth2RefreshTokenSuccessor(arg: {
    id: string;
  }): Promise<{ token: OAuth2RefreshToken; key: OAuth2SuccessorKey } | undefined> {
    const found = await this.#inner.getOAuth2RefreshTokenSuccessor(arg);
    if (found) {
      this.#check('read', grantObject(found.token.user_id, found.token.id));
      this.#check('read', { type: 'api_key', id: found.key.id, ownerId: found.token.user_id });
    }
    return found;
  }

  async revokeOAuth2RefreshTokenFamily(arg: { familyId: string }): Promise<string[]> {
    this.#check('delete', { type: 'oauth2_app_code_token', id: arg.familyId });
    this.#check('delete', objects.any('api_key'));
    return this.#inner.revokeOAuth2RefreshTokenFamily(arg);
  }

  async insertOAuth2AccessToken(arg: {
    userId: string;
    appId: string;
    accessKey: OAuth2AccessKeyArgs;
  }): Promise<{ id: string }> {
    // An OAuth2 grant, not a key a user makes for themselves: the grant's right is needed too.
    this.#check('create', grantObject(arg.userId));
    this.#check('create', { type: 'api_key', ownerId: arg.userId });
    return this.#inner.insertOAuth2AccessToken(arg);
  }

  async getOAuth2Consent(arg: { userId: string; appId: string }): Promise<OAuth2Consent | undefined> {
    return this.#visible(await this.#inner.getOAuth2Consent(arg), (c) => grantObject(c.user_id));
  }

  async upsertOAuth2Consent(arg: { userId: string; appId: string; scope: string }): Promise<void> {
    this.#check('create', grantObject(arg.userId));
    return this.#inner.upsertOAuth2Consent(arg);
  }

  async listOAuth2AppsOfUser(arg: { userId: string }): Promise<OAuth2UserApp[]> {
    this.#check('read', grantObject(arg.userId));
    return this.#inner.listOAuth2AppsOfUser(arg);
  }

  async deleteOAuth2GrantsOfUserApp(arg: {
    userId: string;
    appId: string;
  }): Promise<{ found: boolean; keys: string[] }> {
    this.#check('delete', grantObject(arg.userId));
    this.#check('delete', { type: 'api_key', ownerId: arg.userId });
    return this.#inner.deleteOAuth2GrantsOfUserApp(arg);
  }

  async deleteExpiredOAuth2Grants(arg: { before: Date }): Promise<number> {
    this.#check('delete', objects.any('oauth2_app_code_token'));
    return this.#inner.deleteExpiredOAuth2Grants(arg);
  }
}

/** A code, refresh token or consent: owned by the user who granted it. */
function grantObject(userId: string, id?: string): AuthzObject {
  return id === undefined
    ? { type: 'oauth2_app_code_token', ownerId: userId }
    : { type: 'oauth2_app_code_token', id, ownerId: userId };
}

function secretTableObject(table: SecretTable): AuthzObject {
  // The registry names a resource for each table; an unknown one is refused, not skipped.
  if (!isResourceType(table.resource)) throw new ForbiddenError('read', objects.any('system'));
  return objects.any(table.resource);
}

function oauth2AppObject(app: OAuth2App): AuthzObject {
  return { type: 'oauth2_app', id: app.id };
}

function oidcLinkObject(link: OidcLink): AuthzObject {
  return { type: 'oidc_link', id: link.user_id, ownerId: link.user_id };
}

function linkObject(link: ExternalAuthLink): AuthzObject {
  return linkKeyObject({ userId: link.user_id, providerId: link.provider_id });
}

function linkKeyObject(key: LinkKey): AuthzObject {
  return { type: 'external_auth_link', id: key.providerId, ownerId: key.userId };
}

function apiKeyObject(key: ApiKey): AuthzObject {
  return { type: 'api_key', id: key.id, ownerId: key.user_id };
}

function memberObject(key: MemberKey): AuthzObject {
  return objects.member({ organization_id: key.organizationId, user_id: key.userId });
}

/** The only way callers get a store: bound to who is acting. */
export interface AuthzStore {
  as(actor: Subject, record?: CheckRecorder): Store;
}

export function authorizingStore(raw: Store): AuthzStore {
  return { as: (actor, record) => new AuthorizedStore(raw, actor, record) };
}
