/**
 * Fakes of upstream identity providers (GitHub, GitLab, a generic OIDC provider) for
 * tests of the external auth vault and OIDC login against real HTTP.
 */
export { startFakeProvider } from './oauth-provider.ts';
export {
  FAKE_ENDPOINTS,
  FAKE_FLAVOURS,
  type FakeEndpoint,
  type FakeFault,
  type FakeFlavour,
  type FakeProvider,
  type FakeProviderOptions,
  type FakeStats,
  type FakeTokenSet,
  type FakeUser,
  type RefreshHold,
} from './types.ts';
