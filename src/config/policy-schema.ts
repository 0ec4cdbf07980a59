import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { providerConfigSchema } from '../providers/registry.js';
import { identityPolicySchema } from './identity-schema.js';

/**
 * The policy file (`JIT_CONFIG`), as zod schemas. Types are inferred from here; the JSON Schema
 * in `jit.config.schema.json` is generated from here too (`npm run schema`).
 */

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U0123ABCD');
const slackGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id like S0123ABCD');
const slackChannelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD');
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 08:00');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** `1h30m` in the file, seconds in the program. */
export const durationSchema = z
  .string()
  .transform((text, ctx) => {
    const seconds = parseDuration(text);
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 90s, 30m, 2h, 1d, 1h30m` });
      return z.NEVER;
    }
    return seconds;
  })
  // The JSON Schema sees the text in the file: `parseDuration`'s grammar, not empty, lower case.
  .meta({
    type: 'string',
    pattern: '^(?=\\d)(\\d{1,4}d)?(\\d{1,5}h)?(\\d{1,6}m)?(\\d{1,7}s)?$',
    description: 'A duration like 90s, 30m, 2h, 1d or 1h30m',
  });

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone like Europe/Berlin' },
);

export const principalsSchema = z
  .strictObject({
    users: z.array(slackUserId).default([]),
    groups: z.array(slackGroupId).default([]),
  })
  .refine((p) => p.users.length + p.groups.length > 0, {
    message: 'must name at least one user or group',
  });

const approvalLevelSchema = z
  .strictObject({
    from: principalsSchema,
    count: z.number().int().min(1).default(1),
    /** When the level is not decided this long after it started waiting, `escalateTo` is asked too. */
    escalateAfter: durationSchema.optional(),
    /** Fallback approvers of the level, asked as well (the first keep their buttons). */
    escalateTo: principalsSchema.optional(),
  })
  .refine((level) => (level.escalateAfter === undefined) === (level.escalateTo === undefined), {
    message: 'escalateAfter and escalateTo go together',
  });

/** Whose on-call schedule an autoApprove rule asks: `{ pagerduty: { schedule: P123ABC } }`. */
const onCallScheduleSchema = z.union([
  z.strictObject({
    pagerduty: z.strictObject({
      schedule: z.string().regex(/^P[A-Z0-9]{5,}$/, 'must be a PagerDuty schedule id like PABC123'),
    }),
  }),
  z.strictObject({
    opsgenie: z.strictObject({
      schedule: z.string().regex(/^[A-Za-z0-9 _.-]{1,100}$/, 'must be an Opsgenie schedule name or id'),
    }),
  }),
]);
export type OnCallSchedule = z.output<typeof onCallScheduleSchema>;

const autoApproveSchema = z
  .strictObject({
    requesterIn: principalsSchema.optional(),
    /** Only while the requester is on call in this schedule, asked when the request is made. */
    requesterOnCall: onCallScheduleSchema.optional(),
    maxDuration: durationSchema.optional(),
    businessHoursOnly: z.boolean().default(false),
  })
  .refine((rule) => rule.requesterIn !== undefined || rule.requesterOnCall !== undefined, {
    message: 'needs requesterIn, requesterOnCall or both: a rule must say whom it approves',
  });

/** Where on-call schedules are asked (top-level `onCall:`). Tokens usually come as ${ENV}. */
const onCallSchema = z.strictObject({
  pagerduty: z
    .strictObject({
      /** A REST API key (read-only is enough). */
      token: z.string().min(1),
      apiUrl: z.url({ protocol: /^https?$/ }).default('https://api.pagerduty.com'),
    })
    .optional(),
  opsgenie: z
    .strictObject({
      /** An API key with read access (Configuration access is not needed). */
      apiKey: z.string().min(1),
      apiUrl: z.url({ protocol: /^https?$/ }).default('https://api.opsgenie.com'),
    })
    .optional(),
  /** How long an answer of a schedule is reused; short, so a hand-over takes effect soon. */
  cacheFor: durationSchema.default(60),
  /** How long to wait for the schedule API before asking people instead. */
  timeout: durationSchema.default(3),
});

/**
 * The company's OpenID Connect provider (top-level `oidc:`), where approvers of resources with
 * `approverReauth: oidc` sign in again before their approval counts.
 */
const oidcSchema = z
  .strictObject({
    /** The issuer; its `/.well-known/openid-configuration` is read at start. */
    issuer: z.url({ protocol: /^https?$/ }),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** How recent the sign-in must be (`max_age`, and checked on `auth_time`). */
    maxAge: durationSchema.default(300),
    /** When set, the ID token's `acr` must be one of these (also sent as `acr_values`). */
    acrValues: z.array(z.string().min(1)).min(1).optional(),
    /** When set, the ID token's `amr` must contain every one of these (e.g. [mfa]). */
    requireAmr: z.array(z.string().min(1)).min(1).optional(),
    /** The claim that must equal the approver's Slack email. */
    emailClaim: z.string().min(1).default('email'),
  })
  .refine(
    (o) =>
      o.issuer.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(o.issuer),
    {
      message: 'must be https (plain http only on localhost, for tests)',
      path: ['issuer'],
    },
  );

const optOutAction = z.enum(['review', 'deny']);
const optOutSchema = z.strictObject({
  outsideBusinessHours: optOutAction.optional(),
  guests: optOutAction.optional(),
  maxRequestsPerHour: z.number().int().min(1).optional(),
  blockedUsers: z.array(slackUserId).default([]),
});

/**
 * `breakGlass:` on a resource: the requester may grant themself at once, with a reason, for an
 * emergency; the security channel is alerted and named reviewers check it afterwards.
 */
const breakGlassSchema = z.strictObject({
  /** The longest a break-glass grant may run; at most the resource's duration.max. */
  maxDuration: durationSchema,
  /** Who reviews it afterwards; the policy's admins when absent. Never the requester. */
  reviewers: principalsSchema.optional(),
  /** Unreviewed this long after it was used, the security channel is alerted again. */
  reviewWithin: durationSchema.default(60 * 60),
  /** A reviewer's flag revokes the grant; with this it also freezes the requester. */
  freezeOnFlag: z.boolean().default(false),
  /** How often one person may break glass (over all resources). */
  limit: z
    .strictObject({
      count: z.number().int().min(1).default(1),
      per: durationSchema.default(24 * 60 * 60),
    })
    .default({ count: 1, per: 24 * 60 * 60 }),
});
export type BreakGlassPolicy = z.output<typeof breakGlassSchema>;

const resourceSchema = z
  .strictObject({
    description: z.string().min(1).max(500),
    provider: z.string().min(1),
    grant: z.record(z.string(), z.unknown()).default({}),
    duration: z.strictObject({
      default: durationSchema,
      max: durationSchema,
      min: durationSchema.optional(),
    }),
    approvals: z.array(approvalLevelSchema).min(1, 'needs at least one approval level').max(5),
    autoApprove: z.array(autoApproveSchema).default([]),
    optOut: optOutSchema.optional(),
    approvalTimeout: durationSchema.optional(),
    recallAfterIdle: durationSchema.optional(),
    breakGlass: breakGlassSchema.optional(),
    /** `oidc`: an approval counts only after the approver signs in again at the `oidc:` provider. */
    approverReauth: z.literal('oidc').optional(),
  })
  .superRefine((r, ctx) => {
    if (r.duration.default > r.duration.max) {
      ctx.addIssue({ code: 'custom', path: ['duration', 'default'], message: 'must not exceed max' });
    }
    if (r.duration.min !== undefined && r.duration.min > r.duration.default) {
      ctx.addIssue({ code: 'custom', path: ['duration', 'min'], message: 'must not exceed default' });
    }
    if (r.breakGlass && r.breakGlass.maxDuration > r.duration.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['breakGlass', 'maxDuration'],
        message: 'must not exceed duration.max',
      });
    }
    // The same default as approval-timeout.ts: one hour.
    const timeout = r.approvalTimeout ?? 3600;
    r.approvals.forEach((level, i) => {
      if (level.escalateAfter !== undefined && level.escalateAfter >= timeout) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvals', i, 'escalateAfter'],
          message: 'must be shorter than the approvalTimeout (default 1h): the request would time out first',
        });
      }
    });
  });

export const resourceNamePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const policySchema = z
  .strictObject({
    timezone: timezone.default('UTC'),
    securityChannel: slackChannelId,
    admins: principalsSchema,
    /** Default identity policy for providers without their own `identity:`. */
    identity: identityPolicySchema.optional(),
    businessHours: z
      .strictObject({
        days: z.array(weekday).min(1),
        from: clockTime,
        to: clockTime,
      })
      .default({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '19:00' }),
    onCall: onCallSchema.optional(),
    oidc: oidcSchema.optional(),
    providers: z.record(
      z.string().regex(resourceNamePattern, 'provider names are lower-case letters, digits, - and _'),
      providerConfigSchema,
    ),
    resources: z.record(
      z.string().regex(resourceNamePattern, 'resource names are lower-case letters, digits, - and _'),
      resourceSchema,
    ),
  })
  .superRefine((policy, ctx) => {
    for (const [name, resource] of Object.entries(policy.resources)) {
      if (resource.approverReauth === 'oidc' && !policy.oidc) {
        ctx.addIssue({
          code: 'custom',
          path: ['resources', name, 'approverReauth'],
          message: 'needs a top-level oidc block (issuer, clientId, clientSecret)',
        });
      }
      resource.autoApprove.forEach((rule, i) => {
        const service =
          rule.requesterOnCall && ('pagerduty' in rule.requesterOnCall ? 'pagerduty' : 'opsgenie');
        if (service && !policy.onCall?.[service]) {
          ctx.addIssue({
            code: 'custom',
            path: ['resources', name, 'autoApprove', i, 'requesterOnCall'],
            message: `asks ${service}, but the policy file has no onCall.${service} block`,
          });
        }
      });
    }
  });

export type Policy = z.output<typeof policySchema>;
export type ResourcePolicy = Policy['resources'][string];
export type ApprovalLevel = ResourcePolicy['approvals'][number];
export type Principals = z.output<typeof principalsSchema>;
export type OidcPolicy = z.output<typeof oidcSchema>;
