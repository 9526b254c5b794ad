// A real OpenID Connect provider on loopback for the sign-in tests: `oidc-provider` (an
// OpenID-certified implementation) with its development login form (any login, any
// password), one public client that must use PKCE, RS256 ID tokens signed with a key it
// makes at start and publishes at its JWKS URL.
//
// The issuer's port is taken first (`listen`), so the meetbridge server can be started with
// `--oidc-issuer`; the client's redirect URIs are only known once that server runs, so
// `configure` installs the provider afterwards. Until then every request answers 503.
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

/** Users the login form knows by login name: their profile claims. Any other login is accepted too. */
export const users = {
  ann: { name: "Ann Admin", email: "ann@example.test", locale: "en", role: "admin" },
  bob: { name: "Bob Member", email: "bob@example.test", locale: "fr" },
};

export async function startProvider() {
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end("provider not configured yet");
  };
  const http = createServer((req, res) => handler(req, res));
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  const issuer = `http://127.0.0.1:${http.address().port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-key-1", alg: "RS256", use: "sig" };
  return {
    issuer,
    clientId: "meetbridge-pages",
    /** Installs the provider with the pages' redirect URIs. */
    configure(redirectUris) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: "meetbridge-pages",
            token_endpoint_auth_method: "none",
            redirect_uris: redirectUris,
            post_logout_redirect_uris: redirectUris,
            grant_types: ["authorization_code"],
            response_types: ["code"],
          },
        ],
        jwks: { keys: [jwk] },
        cookies: { keys: ["meetbridge-e2e-cookie-key"] },
        claims: { openid: ["sub"], profile: ["name", "locale", "role"], email: ["email"] },
        features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
        pkce: { required: () => true },
        async findAccount(_ctx, id) {
          return {
            accountId: id,
            async claims() {
              return { sub: id, ...(users[id] ?? { name: id, email: `${id}@example.test` }) };
            },
          };
        },
      });
      // Loopback over plain HTTP is fine for a test provider.
      provider.proxy = false;
      handler = provider.callback();
    },
    close: () => new Promise((ok) => http.close(ok)),
  };
}

/** Fills the provider's login form and its consent form in `page` (already redirected there). */
export async function signInAtProvider(page, login) {
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any");
  await page.click("button.login-submit");
  // Consent (first sign-in of this account for this client).
  await page.waitForURL((u) => !u.pathname.startsWith("/interaction/") || u.href !== page.url(), { timeout: 10_000 }).catch(() => {});
  const consent = await page.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached", timeout: 5_000 }).catch(() => null);
  if (consent) await page.click("button.login-submit");
}
