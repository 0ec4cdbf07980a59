import type * as OpenId from 'openid-client';
import type { ApproverLogin, LoginClaims } from '../app/deps.js';
import type { OidcPolicy } from '../config/policy-schema.js';

/**
 * `ApproverLogin` with `openid-client`: discovery of the issuer (read once, again after a
 * failure), the authorization code flow with PKCE and a nonce, `max_age` (and `acr_values` when
 * the policy asks for them) on every sign-in. The ID token's checks (signature, issuer,
 * audience, expiry, nonce, state) are the library's; what the token says about the person and
 * the sign-in is judged by `src/app/reauth.ts`.
 */
export function createApproverLogin(oidc: OidcPolicy): ApproverLogin {
  // Loaded on first use: a bot without approverReauth never holds the library in memory.
  const library = () => import('openid-client');
  let discovered: Promise<OpenId.Configuration> | null = null;
  const configuration = () => {
    discovered ??= library()
      .then((client) =>
        client.discovery(
          new URL(oidc.issuer),
          oidc.clientId,
          undefined,
          client.ClientSecretPost(oidc.clientSecret),
          // Plain http is accepted by the policy file for a local issuer only (tests).
          oidc.issuer.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : {},
        ),
      )
      .catch((error: unknown) => {
        discovered = null;
        throw error;
      });
    return discovered;
  };

  return {
    async authorizationUrl({ redirectUri, state, nonce, codeVerifier }) {
      const [client, config] = await Promise.all([library(), configuration()]);
      return client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email',
        response_type: 'code',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        max_age: String(oidc.maxAge),
        ...(oidc.acrValues ? { acr_values: oidc.acrValues.join(' ') } : {}),
      });
    },

    async finish(callbackUrl, expected): Promise<LoginClaims> {
      const [client, config] = await Promise.all([library(), configuration()]);
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider returned no ID token');
      // Conformant providers may keep scope claims for the userinfo endpoint (bound to the
      // token's subject by the library).
      const email =
        typeof claims[oidc.emailClaim] === 'string'
          ? claims[oidc.emailClaim]
          : (await client.fetchUserInfo(config, tokens.access_token, claims.sub))[oidc.emailClaim];
      return {
        issuer: claims.iss,
        subject: claims.sub,
        email: typeof email === 'string' ? email : null,
        authTime: typeof claims.auth_time === 'number' ? claims.auth_time : null,
        acr: typeof claims.acr === 'string' ? claims.acr : null,
        amr: Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [],
      };
    },
  };
}
