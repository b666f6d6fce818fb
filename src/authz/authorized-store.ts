import type {
  ApiKey,
  ApiKeyLoginType,
  CustomRole,
  ExternalAuthLink,
  ExternalAuthLinkState,
  InsertApiKeyArgs,
  InsertCustomRoleArgs,
  InsertExternalAuthLinkStateArgs,
  InsertUserArgs,
  LinkKey,
  LinkTokens,
  ListUsersArgs,
  MemberKey,
  OidcLink,
  Organization,
  OrganizationMember,
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
import type { Action } from './resources.ts';
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
