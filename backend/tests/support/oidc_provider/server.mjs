// A real OpenID Connect provider (panva's oidc-provider) on loopback, for the backend's
// sign-in tests. Only configuration lives here; the protocol is the library's.
//
//   node server.mjs [PORT]
//
// PORT (argv or env PORT) may be 0: the OS then picks a free port, and the issuer is built
// from the port actually bound, so there is no window in which another process can take it.
// OIDC_REDIRECT_URIS: comma-separated redirect URIs of the test client (required).
// OIDC_CLIENT_AUTH_METHOD: client_secret_post (default) or client_secret_basic. The library
// binds exactly one token endpoint auth method to a client, so the caller chooses which.
// OIDC_EXIT_ON_STDIN_CLOSE=1: stop when stdin reaches end of file (see the end of this file).
//
// Prints "READY <issuer>" on stdout once it accepts connections; SIGTERM/SIGINT stop it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const CLIENT_ID = 'jeex-test';
const CLIENT_SECRET = 'jeex-test-secret';
const AUTH_METHODS = new Set(['client_secret_post', 'client_secret_basic']);

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

const portText = process.argv[2] ?? process.env.PORT ?? '0';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`invalid port ${JSON.stringify(portText)}`);
}

const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);
if (redirectUris.length === 0) {
  fail('OIDC_REDIRECT_URIS must list at least one redirect URI');
}

const authMethod = process.env.OIDC_CLIENT_AUTH_METHOD || 'client_secret_post';
if (!AUTH_METHODS.has(authMethod)) {
  fail(`OIDC_CLIENT_AUTH_METHOD must be one of ${[...AUTH_METHODS].join(', ')}`);
}

// Fresh keys on every start: nothing secret is committed, and a test can never pass by
// accepting a token signed by a key left over from an earlier run.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };
const cookieKeys = [randomBytes(32).toString('base64url')];

function account(login) {
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        email: `${login}@example.com`,
        email_verified: true,
        name: `User ${login}`,
        picture: `https://example.com/${encodeURIComponent(login)}.png`,
      };
    },
  };
}

const configuration = {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: authMethod,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      id_token_signed_response_alg: 'RS256',
      scope: 'openid email profile',
    },
  ],
  // Advertise only what the client is registered with, so discovery does not mislead.
  clientAuthMethods: [authMethod],
  jwks: { keys: [signingKey] },
  cookies: {
    keys: cookieKeys,
    // A browser drops SameSite=None cookies that are not Secure, and this runs on plain http.
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  // The backend reads the user from the ID token; by default the library would keep scope
  // claims for the userinfo endpoint only whenever an access token is issued too.
  conformIdTokenClaims: false,
  pkce: {
    methods: ['S256'],
    required: () => true,
  },
  // A client that forgets redirect_uri must fail here as it would at a strict provider.
  allowOmittingSingleRegisteredRedirectUri: false,
  responseTypes: ['code'],
  findAccount: async (_ctx, sub) => account(sub),
  features: {
    devInteractions: { enabled: true },
  },
};

const server = createServer();
server.on('error', (error) => fail(error.message));
server.listen(port, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  // Static clients are validated on first use; a bad redirect URI should stop the start, not
  // surface later as a puzzling error page in the middle of a test.
  try {
    await provider.Client.find(CLIENT_ID);
  } catch (error) {
    fail(`invalid client configuration: ${error.error_description ?? error.message}`);
  }
  // The client sees only a generic error_description; the reason (error_detail) goes to the
  // log, where a test or a person debugging a failed sign-in can read it.
  for (const event of ['authorization.error', 'grant.error', 'userinfo.error']) {
    provider.on(event, (_ctx, error) => {
      const detail = error.error_detail ?? error.error_description;
      process.stderr.write(`${event}: ${error.error} (${detail})\n`);
    });
  }
  provider.on('server_error', (_ctx, error) => {
    process.stderr.write(`server_error: ${error.stack}\n`);
  });
  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open until they time out.
  server.closeAllConnections();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// Set by the Python harness, which holds our stdin open: a test run killed outright must not
// leave a provider running behind it.
if (process.env.OIDC_EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
