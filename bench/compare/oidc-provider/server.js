// panva/oidc-provider set up with Homeroom's flows, for `homeroom loadtest` comparisons.
// One process, in-memory adapter (Homeroom's quick start is also one process with an
// in-process KV). Flows: authorization code + PKCE (required), rotating refresh tokens,
// client credentials, ES256 ID tokens. Consent is pre-granted (loadExistingGrant) the way
// Homeroom's district connections pre-authorise apps, so a signed-in user gets a code from
// /auth directly: the "instant login".
// Sign-in uses the library's development interactions (any password is accepted): the
// password_login figure here therefore has no password hashing in it.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3001);
const issuer = `http://127.0.0.1:${port}`;
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

// ACCESS_TOKEN_FORMAT=jwt: client-credentials access tokens are RFC 9068 JWTs signed with
// ES256, as Homeroom's are, instead of opaque handles kept in memory (the library's
// default). Through a resource indicator (RFC 8707), the library's way to JWT access tokens;
// only for client credentials, since a token for a resource server is not accepted at
// userinfo, which the other flows call.
const jwtAccessTokens = process.env.ACCESS_TOKEN_FORMAT === 'jwt';
const RESOURCE = 'urn:homeroom-compare:api';
const resourceIndicators = {
  enabled: jwtAccessTokens,
  defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? RESOURCE : undefined),
  useGrantedResource: () => false,
  getResourceServerInfo: () => ({
    scope: '',
    audience: RESOURCE,
    accessTokenTTL: 300,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  }),
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'loadtest',
    client_secret: 'loadtest-secret-not-for-production-0123456789',
    redirect_uris: ['http://127.0.0.1:9/loadtest/callback'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [{ ...key, kid: 'es256-1', alg: 'ES256', use: 'sig' }] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators,
  },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'offline_access'],
  claims: { openid: ['sub'], profile: ['name'] },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: sub }) }),
  loadExistingGrant: async (ctx) => {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid profile offline_access');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, RefreshToken: 86400, ClientCredentials: 300, Grant: 86400, Session: 43200, Interaction: 600 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
