import type { FastifyInstance } from 'fastify';
import {
  type AuthzStore,
  builtInOrgRoles,
  builtInSiteRoles,
  isValidRoleName,
  type Role,
} from '../../authz/index.ts';
import {
  addMember,
  createCustomRole,
  createOrganization,
  findMember,
  IdentityError,
  setMemberRoles,
} from '../../identity/index.ts';
import { requireAuth } from '../auth/actor.ts';
import { loaded, loadOrganization, memberUserId, organizationDirectory, store } from './loaders.ts';
import { addMemberBody, createOrganizationBody, customRoleBody, rolesBody } from './schemas.ts';
import { customRoleJson, memberJson, organizationJson } from './serialize.ts';

type OrgParams = { Params: { org: string } };
type MemberParams = { Params: { org: string; user: string } };
type RoleParams = { Params: { org: string; name: string } };

const builtInJson = (r: Role) => ({
  name: r.id.name,
  organization_id: r.id.organizationId ?? null,
  display_name: r.displayName,
  built_in: true,
});

export function registerOrganizationRoutes(app: FastifyInstance, authz: AuthzStore): void {
  const withOrg = { preHandler: [requireAuth, loadOrganization(organizationDirectory(authz))] };

  app.get('/api/v1/roles', { preHandler: requireAuth }, async () => ({
    roles: builtInSiteRoles().map(builtInJson),
  }));

  app.get('/api/v1/organizations', { preHandler: requireAuth }, async (request) => ({
    organizations: (await store(request, authz).listOrganizations({ limit: 1000 })).map(organizationJson),
  }));

  app.post('/api/v1/organizations', { preHandler: requireAuth }, async (request, reply) => {
    const body = createOrganizationBody.parse(request.body);
    const org = await createOrganization(store(request, authz), {
      name: body.name,
      displayName: body.display_name,
      description: body.description,
    });
    return reply.code(201).send(organizationJson(org));
  });

  app.get<OrgParams>('/api/v1/organizations/:org', withOrg, async (request) =>
    organizationJson(loaded(request.organization)),
  );

  app.get<OrgParams>('/api/v1/organizations/:org/members', withOrg, async (request) => {
    const org = loaded(request.organization);
    const members = await store(request, authz).listOrganizationMembers({
      organizationId: org.id,
      limit: 1000,
    });
    return { members: members.map(memberJson) };
  });

  app.post<OrgParams>('/api/v1/organizations/:org/members', withOrg, async (request, reply) => {
    const body = addMemberBody.parse(request.body);
    const member = await addMember(
      store(request, authz),
      loaded(request.organization),
      body.user_id,
      body.roles,
    );
    return reply.code(201).send(memberJson(member));
  });

  app.get<MemberParams>('/api/v1/organizations/:org/members/:user', withOrg, async (request) => {
    const userId = await memberUserId(request, authz);
    return memberJson(await findMember(store(request, authz), loaded(request.organization), userId));
  });

  app.put<MemberParams>('/api/v1/organizations/:org/members/:user/roles', withOrg, async (request) => {
    const { roles } = rolesBody.parse(request.body);
    const org = loaded(request.organization);
    const userId = await memberUserId(request, authz);
    await findMember(store(request, authz), org, userId);
    return memberJson(await setMemberRoles(store(request, authz), org, userId, roles));
  });

  app.delete<MemberParams>('/api/v1/organizations/:org/members/:user', withOrg, async (request, reply) => {
    const org = loaded(request.organization);
    const userId = await memberUserId(request, authz);
    await findMember(store(request, authz), org, userId);
    await store(request, authz).deleteOrganizationMember({ organizationId: org.id, userId });
    return reply.code(204).send();
  });

  app.get<OrgParams>('/api/v1/organizations/:org/roles', withOrg, async (request) => {
    const org = loaded(request.organization);
    const custom = await store(request, authz).listCustomRoles({ organizationIds: [org.id] });
    return { roles: [...builtInOrgRoles(org.id).map(builtInJson), ...custom.map(customRoleJson)] };
  });

  app.post<OrgParams>('/api/v1/organizations/:org/roles', withOrg, async (request, reply) => {
    const body = customRoleBody.parse(request.body);
    const role = await createCustomRole(store(request, authz), loaded(request.organization), {
      name: body.name,
      displayName: body.display_name,
      orgPermissions: body.organization_permissions,
      userPermissions: body.user_permissions,
    });
    return reply.code(201).send(customRoleJson(role));
  });

  app.delete<RoleParams>('/api/v1/organizations/:org/roles/:name', withOrg, async (request, reply) => {
    const org = loaded(request.organization);
    const name = request.params.name;
    // A name no role can have is not looked up (PostgreSQL fails on some, e.g. with NUL).
    if (!isValidRoleName(name)) throw new IdentityError('not_found', `No role "${name}".`);
    await store(request, authz).softDeleteCustomRole({ organizationId: org.id, name });
    return reply.code(204).send();
  });
}
