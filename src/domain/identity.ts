/**
 * Which identity a Slack user has on a provider: the provider's explicit `identities` map wins,
 * otherwise the local part of the Slack profile email in lower case (`Alice.Smith@example.com` →
 * `alice.smith`; PostgreSQL folds unquoted names to lower case too). Providers validate the
 * name before they use it.
 */
export function resolveIdentity(
  slackUserId: string,
  email: string | null,
  identities: Readonly<Record<string, string>> | undefined,
): string | null {
  // hasOwn: a Slack id can never be `constructor`, but a lookup should not find inherited keys.
  if (identities && Object.hasOwn(identities, slackUserId)) return identities[slackUserId] ?? null;
  if (!email) return null;
  const at = email.lastIndexOf('@');
  const local = (at > 0 ? email.slice(0, at) : '').toLowerCase();
  return local === '' ? null : local;
}
