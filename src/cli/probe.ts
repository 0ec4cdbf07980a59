import { AppError } from '../app/errors.js';
import { identityIsSlackAccount, type Policy } from '../config/policy.js';
import { createProvider } from '../providers/registry.js';

/**
 * `jit policy check --probe`: asks the resource's provider what a grant would touch (which
 * identity, which objects, whether they exist, what is already there) through its read-only
 * `probe`, without granting anything. The CLI does not ask Slack, so the identity on the target
 * comes from `--identity` or the provider's `identities` map for `--user`.
 */

export interface ProbeInput {
  policy: Policy;
  resource: string;
  userId: string;
  identity: string | undefined;
  expiresAt: Date;
}

/** Lines to print, or a problem to report (the policy cannot be probed as asked). */
export type ProbeResult = { ok: true; lines: string[] } | { ok: false; problem: string };

export async function probeGrant(input: ProbeInput): Promise<ProbeResult> {
  const resource = input.policy.resources[input.resource];
  const config = resource ? input.policy.providers[resource.provider] : undefined;
  if (!resource || !config) return { ok: false, problem: `no provider for resource "${input.resource}"` };
  const mapped =
    'identities' in config && config.identities && Object.hasOwn(config.identities, input.userId)
      ? config.identities[input.userId]
      : undefined;
  const identity =
    input.identity ?? mapped ?? (identityIsSlackAccount[config.type] ? input.userId : undefined);
  if (identity === undefined) {
    return {
      ok: false,
      problem:
        `--probe needs --identity: ${input.userId} is not in provider "${resource.provider}"'s ` +
        'identities, and the CLI does not ask Slack for the email',
    };
  }
  // The CLI never talks to Slack; a provider that would is told so by its probe failing.
  const provider = createProvider(config, {
    slack: { token: 'xoxb-cli-probe', apiUrl: 'http://127.0.0.1:9/' },
  });
  const target = {
    requestId: 'JIT-PROBE0',
    identity,
    userId: input.userId,
    resource: input.resource,
    grant: resource.grant,
    expiresAt: input.expiresAt,
  };
  try {
    if (!provider.probe) {
      return {
        ok: true,
        lines: [
          `Probe:    provider type ${config.type} cannot look without acting; identity would be ${identity}`,
        ],
      };
    }
    const lines = await provider.probe(target);
    return {
      ok: true,
      lines: [
        `Probe:    ${config.type} provider "${resource.provider}", identity ${identity}`,
        ...lines.map((l) => `  - ${l}`),
      ],
    };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, problem: `probe refused: ${error.message}` };
    throw error;
  } finally {
    await provider.close();
  }
}
