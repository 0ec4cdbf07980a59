import { z } from 'zod';

/**
 * `identity:` in the policy file, at the top level and on a provider (the provider's wins): which
 * email domains a Slack profile email may come from for its local part to be taken as the
 * identity on the target. Domains are compared in lower case, exactly: `corp.example` does not
 * allow `mail.corp.example`.
 */
export const identityPolicySchema = z.strictObject({
  emailDomains: z
    .array(
      z
        .string()
        .regex(
          /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
          'must be an email domain in lower case, like corp.example',
        ),
    )
    .min(1, 'must list at least one domain'),
});
