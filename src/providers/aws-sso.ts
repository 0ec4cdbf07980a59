import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type {
  AccountAssignmentOperationStatus,
  SSOAdminClient,
  SSOAdminClientConfig,
} from '@aws-sdk/client-sso-admin';
import { z } from 'zod';
import { AppError, InvalidInput, ProviderUnavailable, UnknownIdentity } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { httpUrlSchema } from './http-url.js';

/**
 * Access as IAM Identity Center account assignments: granting assigns the requester's Identity
 * Center user a permission set in each of the resource's AWS accounts, revoking deletes those
 * assignments. Only direct user assignments are made, checked and taken back; access the user
 * has through a group assignment is not the bot's and is left alone.
 *
 * The user is found with identitystore GetUserId by user name or by email (`matchBy`). Both
 * assignment calls are asynchronous on AWS's side: the provider waits for each request's status
 * to leave IN_PROGRESS before it calls the grant done (or revoked).
 *
 * Expiry: an assignment carries no end date, AWS never ends it on its own. The bot's expiry job
 * deletes it; while the bot is down, an assignment due to end stays (and can be signed in
 * with) until the bot is back and the overdue expiry, or the drift check, revokes it. Deleting an
 * assignment does not end role sessions already opened through it: those last until the
 * permission set's session duration runs out, so keep that short on permission sets handed out
 * here.
 *
 * Least-privilege IAM policy for the bot's role (in the management account, or better the
 * Identity Center delegated administrator account):
 * - sso:CreateAccountAssignment, sso:DeleteAccountAssignment, sso:ListAccountAssignments on
 *   arn:aws:sso:::instance/ssoins-…, arn:aws:sso:::permissionSet/ssoins-…/ps-… (each permission
 *   set handed out) and arn:aws:sso:::account/111122223333 (each account);
 * - sso:DescribeAccountAssignmentCreationStatus, sso:DescribeAccountAssignmentDeletionStatus on
 *   arn:aws:sso:::instance/ssoins-…;
 * - identitystore:GetUserId on arn:aws:identitystore::<account>:identitystore/d-… and
 *   arn:aws:identitystore:::user/*.
 * No organizations: permission is needed by these calls. Only to assign access in the
 * Organizations management account itself does AWS document more (its "AccessToSSOProvisionedRoles"
 * example): iam:AttachRolePolicy, iam:CreateRole, iam:DeleteRole, iam:DeleteRolePolicy,
 * iam:DetachRolePolicy, iam:GetRole, iam:ListAttachedRolePolicies, iam:ListRolePolicies,
 * iam:PutRolePolicy, iam:UpdateRole, iam:UpdateRoleDescription on
 * arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*, iam:GetSAMLProvider on
 * arn:aws:iam::*:saml-provider/AWSSSO_*_DO_NOT_DELETE, and iam:ListRoles, iam:ListPolicies.
 *
 * Credentials come from the SDK's default chain (environment, shared config, web identity, ECS
 * or EC2 role); they never appear in the policy file, a log line or an error message.
 */

const PARTITION = '(?:aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b)';
const INSTANCE_ARN = new RegExp(`^arn:${PARTITION}:sso:::instance/((?:sso)?ins-[a-zA-Z0-9-.]{16})$`);
const PERMISSION_SET_ARN = new RegExp(
  `^arn:${PARTITION}:sso:::permissionSet/((?:sso)?ins-[a-zA-Z0-9-.]{16})/ps-[a-zA-Z0-9-./]{16}$`,
);
const IDENTITY_STORE_ID = /^(?:d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
/** Identity Center user names: up to 128 characters, no spaces or control characters. */
const USER_NAME = /^[^\s\p{Cc}]{1,128}$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const userSchema = z.string().regex(USER_NAME, 'must be an Identity Center user name or email');

/** The provider's block under `providers:` in the policy file. */
export const awsSsoProviderConfigSchema = z.strictObject({
  type: z.literal('aws-sso'),
  /** The region the Identity Center instance lives in. */
  region: z.string().regex(REGION, 'must be an AWS region, like eu-west-1'),
  instanceArn: z
    .string()
    .regex(INSTANCE_ARN, 'must be an Identity Center instance ARN, like arn:aws:sso:::instance/ssoins-…'),
  identityStoreId: z.string().regex(IDENTITY_STORE_ID, 'must be an identity store id, like d-0123456789'),
  /** SSO Admin API root, for a VPC endpoint (or a test server); the regional endpoint by default. */
  ssoAdminEndpoint: httpUrlSchema.optional(),
  /** Identity Store API root, likewise: the two services have separate endpoints. */
  identityStoreEndpoint: httpUrlSchema.optional(),
  /** Which unique attribute of the Identity Center user the identity names. */
  matchBy: z.enum(['userName', 'email']).default('userName'),
  /** With `matchBy: email`, appended to an identity without `@` (the Slack email's local part). */
  emailDomain: z
    .string()
    .regex(DOMAIN, 'must be an email domain in lower case, like corp.example')
    .optional(),
  /** Slack user id → Identity Center user name (or email, with `matchBy: email`). */
  identities: z.record(z.string(), userSchema).optional(),
  /**
   * Users nobody is ever granted to through the bot (break-glass and admin users), by user name
   * or email (as `matchBy` looks them up) or by Identity Center user id; compared ignoring case.
   */
  protectedUsers: z.array(userSchema).optional(),
  /** How long to wait for one AWS answer; 10 s by default. */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});
export type AwsSsoProviderConfig = z.infer<typeof awsSsoProviderConfigSchema>;

/** A resource's `grant:` block for this provider. */
export const awsSsoGrantSchema = z.strictObject({
  permissionSet: z
    .string()
    .regex(
      PERMISSION_SET_ARN,
      'must be a permission set ARN, like arn:aws:sso:::permissionSet/ssoins-…/ps-…',
    ),
  accounts: z
    .array(
      z
        .string({ error: 'must be a 12-digit account id, quoted ("012345678901")' })
        .regex(/^\d{12}$/, 'must be a 12-digit account id, quoted ("012345678901")'),
    )
    .min(1, 'must list at least one account')
    .max(100)
    .refine((accounts) => new Set(accounts).size === accounts.length, 'must not list an account twice'),
});
export type AwsSsoGrant = z.infer<typeof awsSsoGrantSchema>;

export interface AwsSsoProviderOptions {
  /** Instead of the SDK's default credential chain (tests). */
  credentials?: SSOAdminClientConfig['credentials'];
  /** Attempts per AWS call, the SDK's own retries included; 3 by default. */
  maxAttempts?: number;
  /** Instead of the SDK's standard retry strategy (tests: no backoff wait). */
  retryStrategy?: SSOAdminClientConfig['retryStrategy'];
  /** How often an assignment request's status is read while IN_PROGRESS; 1 s by default. */
  pollIntervalMs?: number;
  /** How long a grant or revoke waits for AWS to finish one assignment request; 60 s by default. */
  pollTimeoutMs?: number;
}

type AwsSsoSettings = Omit<z.input<typeof awsSsoProviderConfigSchema>, 'type' | 'identities'>;

const DEFAULT_TIMEOUT_MS = 10_000;
const USER = 'USER';

export function createAwsSsoProvider(config: AwsSsoSettings, options: AwsSsoProviderOptions = {}): Provider {
  const matchBy = config.matchBy ?? 'userName';
  if (config.emailDomain !== undefined && matchBy !== 'email') {
    throw new InvalidInput('aws-sso provider: emailDomain is only used with matchBy: email');
  }
  const instanceArn = config.instanceArn;
  const instanceId = INSTANCE_ARN.exec(instanceArn)?.[1];
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const maxPolls = Math.max(1, Math.ceil((options.pollTimeoutMs ?? 60_000) / pollIntervalMs));
  const protectedUsers = new Set((config.protectedUsers ?? []).map((user) => user.toLowerCase()));
  const aws = lazyClients(config, options);

  /** What GetUserId is asked for: the identity as a user name, or as an email address. */
  function lookupValueOf(identity: string): string {
    if (matchBy === 'userName') {
      if (!USER_NAME.test(identity)) {
        throw new InvalidInput(
          `${JSON.stringify(identity)} is not an Identity Center user name: map the user in the provider's identities`,
        );
      }
      return identity;
    }
    const email =
      identity.includes('@') || !config.emailDomain ? identity : `${identity}@${config.emailDomain}`;
    if (!EMAIL.test(email)) {
      throw new InvalidInput(
        `${JSON.stringify(identity)} is not an email address: set the provider's emailDomain or map the user in its identities`,
      );
    }
    return email;
  }

  function namesOf(target: GrantTarget) {
    const grant = awsSsoGrantSchema.safeParse(target.grant);
    if (!grant.success) {
      const issue = grant.error.issues[0];
      throw new InvalidInput(
        `grant block: ${issue?.path.join('.') || 'grant'} ${issue?.message ?? 'is not valid'}`,
      );
    }
    if (PERMISSION_SET_ARN.exec(grant.data.permissionSet)?.[1] !== instanceId) {
      throw new InvalidInput(`grant block: permissionSet does not belong to the instance ${instanceArn}`);
    }
    return { ...grant.data, user: lookupValueOf(target.identity) };
  }

  function refuseProtected(...names: string[]): void {
    const hit = names.find((name) => protectedUsers.has(name.toLowerCase()));
    if (hit !== undefined) {
      throw new InvalidInput(`${hit} is a protected Identity Center user: the bot never grants to it`);
    }
  }

  /** The Identity Center user id, or null when the identity store has no such user. */
  async function findUser(user: string): Promise<string | null> {
    const { store, sdk } = await aws();
    const attribute = matchBy === 'email' ? 'emails.value' : 'userName';
    return call('identitystore:GetUserId', `look up ${user} in ${config.identityStoreId}`, async () => {
      try {
        const found = await store.send(
          new sdk.store.GetUserIdCommand({
            IdentityStoreId: config.identityStoreId,
            AlternateIdentifier: { UniqueAttribute: { AttributePath: attribute, AttributeValue: user } },
          }),
        );
        if (!found.UserId) throw new ProviderUnavailable('AWS answered GetUserId without a user id');
        return found.UserId;
      } catch (error) {
        // The same error names a wrong identity store id: that one is a configuration mistake.
        const missing = errorName(error) === 'ResourceNotFoundException';
        if (missing && (error as { ResourceType?: unknown }).ResourceType !== 'IDENTITY_STORE') return null;
        throw error;
      }
    });
  }

  /** The user id of an identity fit to be granted to; refuses unknown and protected users. */
  async function fitUser(user: string): Promise<string> {
    refuseProtected(user);
    const userId = await findUser(user);
    if (userId === null) {
      throw new UnknownIdentity(
        `IAM Identity Center has no user ${matchBy === 'email' ? 'with email' : 'named'} ${user}`,
      );
    }
    refuseProtected(userId);
    return userId;
  }

  async function isAssigned(account: string, permissionSet: string, userId: string): Promise<boolean> {
    const { sso, sdk } = await aws();
    let nextToken: string | undefined;
    do {
      const page = await call(
        'sso:ListAccountAssignments',
        `list the assignments of ${permissionSet} in account ${account}`,
        () =>
          sso.send(
            new sdk.sso.ListAccountAssignmentsCommand({
              InstanceArn: instanceArn,
              AccountId: account,
              PermissionSetArn: permissionSet,
              MaxResults: 100,
              NextToken: nextToken,
            }),
          ),
      );
      const found = (page.AccountAssignments ?? []).some(
        (assignment) => assignment.PrincipalType === USER && assignment.PrincipalId === userId,
      );
      if (found) return true;
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return false;
  }

  /** The assignment as CreateAccountAssignment and DeleteAccountAssignment name it. */
  function assignmentOf(account: string, permissionSet: string, userId: string) {
    return {
      InstanceArn: instanceArn,
      TargetId: account,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: permissionSet,
      PrincipalType: USER,
      PrincipalId: userId,
    } as const;
  }

  async function assign(account: string, permissionSet: string, userId: string, user: string) {
    if (await isAssigned(account, permissionSet, userId)) return;
    const { sso, sdk } = await aws();
    const what = `assign ${permissionSet} to ${user} in account ${account}`;
    const started = await call('sso:CreateAccountAssignment', what, async () => {
      try {
        const assignment = assignmentOf(account, permissionSet, userId);
        const answer = await sso.send(new sdk.sso.CreateAccountAssignmentCommand(assignment));
        return answer.AccountAssignmentCreationStatus;
      } catch (error) {
        // AWS documents ConflictException as a write racing an earlier one (retry with backoff),
        // not as "exists": it counts as done only if the assignment is there now.
        if (errorName(error) === 'ConflictException' && (await isAssigned(account, permissionSet, userId))) {
          return undefined;
        }
        throw error;
      }
    });
    if (started === undefined) return;
    const ended = await settle('creation', started, what);
    // A FAILED request may still leave the assignment in place (one made meanwhile, or the
    // "already exists" kind of failure): what is on AWS decides, not the reason's wording.
    if (ended.Status === 'SUCCEEDED' || (await isAssigned(account, permissionSet, userId))) return;
    const reason = clean(ended.FailureReason ?? 'no reason given');
    const message = `AWS failed to ${what}: ${reason}`;
    throw TRANSIENT_REASON.test(reason)
      ? new ProviderUnavailable(`${message}; retry later`)
      : new InvalidInput(message);
  }

  async function unassign(account: string, permissionSet: string, userId: string, user: string) {
    if (!(await isAssigned(account, permissionSet, userId))) return;
    const { sso, sdk } = await aws();
    const what = `remove ${permissionSet} from ${user} in account ${account}`;
    const started = await call('sso:DeleteAccountAssignment', what, async () => {
      try {
        const assignment = assignmentOf(account, permissionSet, userId);
        const answer = await sso.send(new sdk.sso.DeleteAccountAssignmentCommand(assignment));
        return answer.AccountAssignmentDeletionStatus;
      } catch (error) {
        // Deleted by someone else since the listing: gone is what a revoke wants.
        const name = errorName(error);
        const racing = name === 'ResourceNotFoundException' || name === 'ConflictException';
        if (racing && !(await isAssigned(account, permissionSet, userId))) return undefined;
        throw error;
      }
    });
    if (started === undefined) return;
    const ended = await settle('deletion', started, what);
    if (ended.Status === 'SUCCEEDED' || !(await isAssigned(account, permissionSet, userId))) return;
    // A revoke is retried until it holds, whatever the reason.
    throw new ProviderUnavailable(
      `AWS failed to ${what}: ${clean(ended.FailureReason ?? 'no reason given')}`,
    );
  }

  /** Reads the request's status until it is no longer IN_PROGRESS. */
  async function settle(
    kind: 'creation' | 'deletion',
    status: AccountAssignmentOperationStatus | undefined,
    what: string,
  ): Promise<AccountAssignmentOperationStatus> {
    const { sso, sdk } = await aws();
    let current = status;
    for (let polls = 0; current?.Status === 'IN_PROGRESS'; polls += 1) {
      const requestId = current.RequestId;
      if (!requestId) throw new ProviderUnavailable(`AWS answered without a request id to ${what}`);
      if (polls >= maxPolls) {
        throw new ProviderUnavailable(
          `AWS has not finished to ${what} yet (request ${requestId}); retry later`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      const read = `read the status of request ${requestId} to ${what}`;
      current =
        kind === 'creation'
          ? await call('sso:DescribeAccountAssignmentCreationStatus', read, async () => {
              const input = { InstanceArn: instanceArn, AccountAssignmentCreationRequestId: requestId };
              const answer = await sso.send(
                new sdk.sso.DescribeAccountAssignmentCreationStatusCommand(input),
              );
              return answer.AccountAssignmentCreationStatus;
            })
          : await call('sso:DescribeAccountAssignmentDeletionStatus', read, async () => {
              const input = { InstanceArn: instanceArn, AccountAssignmentDeletionRequestId: requestId };
              const answer = await sso.send(
                new sdk.sso.DescribeAccountAssignmentDeletionStatusCommand(input),
              );
              return answer.AccountAssignmentDeletionStatus;
            });
    }
    if (current?.Status !== 'SUCCEEDED' && current?.Status !== 'FAILED') {
      throw new ProviderUnavailable(`AWS answered with an unexpected status to ${what}`);
    }
    return current;
  }

  return {
    type: 'aws-sso',

    async checkIdentity(target) {
      await fitUser(lookupValueOf(target.identity));
    },

    async grant(target) {
      const { permissionSet, accounts, user } = namesOf(target);
      const userId = await fitUser(user);
      // One account after the other: a failure part-way leaves assignments that the cleanup
      // revoke of the failed grant takes back.
      for (const account of accounts) await assign(account, permissionSet, userId, user);
    },

    async revoke(target) {
      const { permissionSet, accounts, user } = namesOf(target);
      // A user deleted from Identity Center cannot sign in any more: nothing is left to take back.
      // (Renaming a user who holds a grant hides it from this lookup: end the grant first.)
      const userId = await findUser(user);
      if (userId === null) return;
      for (const account of accounts) await unassign(account, permissionSet, userId, user);
    },

    async verify(target) {
      const { permissionSet, accounts, user } = namesOf(target);
      const userId = await findUser(user);
      if (userId === null) return false;
      for (const account of accounts) {
        if (!(await isAssigned(account, permissionSet, userId))) return false;
      }
      return true;
    },

    async probe(target) {
      const { permissionSet, accounts, user } = namesOf(target);
      const userId = await fitUser(user);
      const lines = [`Identity Center user ${user} (user id ${userId})`];
      for (const account of accounts) {
        const held = await isAssigned(account, permissionSet, userId);
        lines.push(
          `permission set ${permissionSet} in account ${account}: ${held ? 'already assigned' : 'not assigned yet'}`,
        );
      }
      return lines;
    },

    async close() {
      await aws.close();
    },
  };
}

/**
 * Both SDK clients, built on first use: a bot with no AWS resource never loads the SDK. The two
 * clients share the settings; each service has its own endpoint.
 */
function lazyClients(config: AwsSsoSettings, options: AwsSsoProviderOptions) {
  type Sdk = {
    sso: typeof import('@aws-sdk/client-sso-admin');
    store: typeof import('@aws-sdk/client-identitystore');
  };
  let loaded: Promise<{ sso: SSOAdminClient; store: IdentitystoreClient; sdk: Sdk }> | undefined;
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const shared = {
    region: config.region,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryStrategy ? { retryStrategy: options.retryStrategy } : {}),
  };
  const clients = () => {
    loaded ??= Promise.all([
      import('@aws-sdk/client-sso-admin'),
      import('@aws-sdk/client-identitystore'),
    ]).then(([sso, store]) => ({
      sdk: { sso, store },
      sso: new sso.SSOAdminClient({
        ...shared,
        ...(config.ssoAdminEndpoint ? { endpoint: config.ssoAdminEndpoint } : {}),
      }),
      store: new store.IdentitystoreClient({
        ...shared,
        ...(config.identityStoreEndpoint ? { endpoint: config.identityStoreEndpoint } : {}),
      }),
    }));
    return loaded;
  };
  return Object.assign(clients, {
    async close() {
      if (!loaded) return;
      const { sso, store } = await loaded.catch(() => ({ sso: undefined, store: undefined }));
      sso?.destroy();
      store?.destroy();
      loaded = undefined;
    },
  });
}

/** A FAILED status whose reason says a retry may go through. */
const TRANSIENT_REASON =
  /throttl|rate exceeded|internal (?:server )?error|try again|temporar|timed? ?out|concurren/i;

/** Refusals that say nothing about the input and pass with time. */
const RETRYABLE = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServerException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'ConflictException',
  'ExpiredTokenException',
  'RequestExpired',
]);

/** AWS does not take the credentials themselves: no retry helps until they are fixed. */
const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'IncompleteSignature',
  'MissingAuthenticationTokenException',
  'SignatureDoesNotMatch',
]);

async function call<T>(action: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toProviderError(action, what, error);
  }
}

/**
 * Throttling, server errors and conflicts (after the SDK's own retries) and a network that does
 * not answer are retried; a refused permission, bad credentials or an invalid request say what
 * to fix. `action` is the IAM action the call needs, named when AWS denies it.
 */
function toProviderError(action: string, what: string, error: unknown): Error {
  if (error instanceof AppError) return error;
  const name = errorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = clean(error instanceof Error ? error.message : String(error));
  if (status === undefined) {
    if (name === 'CredentialsProviderError') {
      return new ProviderUnavailable(
        `found no AWS credentials to ${what} (${message}): give the bot a role or credentials the SDK's default chain finds`,
      );
    }
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || name === 'TimeoutError' || name === 'AbortError') {
      return new ProviderUnavailable(
        `could not reach AWS to ${what} (${typeof code === 'string' ? code : name}); retry later`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
  if (RETRYABLE.has(name) || status === 429 || status >= 500) {
    return new ProviderUnavailable(`AWS could not ${what} for now (${name}: ${message}); retry later`);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new InvalidInput(`AWS refused to ${what}: the bot's role needs ${action} (${name}: ${message})`);
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new InvalidInput(
      `AWS did not accept the bot's credentials to ${what} (${name}: ${message}): check the access key or role the SDK's credential chain finds`,
    );
  }
  return new InvalidInput(
    `AWS refused to ${what} (${name}: ${message}): check instanceArn, permissionSet and accounts`,
  );
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'Error';
}

/** AWS's own text, kept short, with any access key id blanked out. */
function clean(text: string): string {
  const blanked = text.replace(/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[access key id]');
  return blanked.length > 300 ? `${blanked.slice(0, 300)}…` : blanked;
}
