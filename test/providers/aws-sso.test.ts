import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable, UnknownIdentity } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import {
  type AwsSsoProviderOptions,
  awsSsoGrantSchema,
  awsSsoProviderConfigSchema,
  createAwsSsoProvider,
} from '../../src/providers/aws-sso.js';
import { providerConfigSchema } from '../../src/providers/registry.js';
import { type FakeAwsSso, retriesWithoutBackoff, startFakeAwsSso } from '../support/fake-aws-sso.js';

const PROD = '111122223333';
const STAGING = '444455556666';

let aws: FakeAwsSso;
let permissionSet: string;
let aliceId: string;
let provider: Provider;
const opened: Provider[] = [];

type Settings = Parameters<typeof createAwsSsoProvider>[0];

/** A provider on the fake through the real SDK clients, with retries that do not wait. */
function awsSso(config: Partial<Settings> = {}, options: AwsSsoProviderOptions = {}): Provider {
  const created = createAwsSsoProvider(
    {
      region: aws.region,
      instanceArn: aws.instanceArn,
      identityStoreId: aws.identityStoreId,
      ssoAdminEndpoint: aws.endpoint,
      identityStoreEndpoint: aws.endpoint,
      protectedUsers: ['BreakGlass'],
      ...config,
    },
    {
      credentials: aws.credentials,
      maxAttempts: 3,
      retryStrategy: retriesWithoutBackoff(3),
      pollIntervalMs: 1,
      pollTimeoutMs: 2_000,
      ...options,
    },
  );
  opened.push(created);
  return created;
}

function target(identity: string, grant: Record<string, unknown> = {}): GrantTarget {
  return {
    requestId: 'JIT-AWS001',
    identity,
    userId: 'UALICE01',
    resource: 'aws-prod-admin',
    grant: { permissionSet, accounts: [PROD, STAGING], ...grant },
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

/** The error a promise rejects with, for asserting on several of its properties. */
async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

beforeAll(async () => {
  aws = await startFakeAwsSso();
});
afterAll(async () => {
  await Promise.all(opened.map((each) => each.close()));
  await aws?.close();
});
beforeEach(() => {
  aws.reset();
  permissionSet = aws.addPermissionSet('AdministratorAccess');
  aliceId = aws.addUser('alice', { email: 'alice@corp.example' });
  aws.addUser('BreakGlass', { email: 'breakglass@corp.example' });
  provider = awsSso();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((each) => each.close()));
});

describe('aws-sso provider', () => {
  it('assigns the permission set in every account and verifies it; granting twice is once', async () => {
    expect(await provider.verify(target('alice'))).toBe(false);
    await provider.grant(target('alice'));
    await provider.grant(target('alice'));

    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);
    expect(aws.isAssigned(STAGING, permissionSet, aliceId)).toBe(true);
    expect(await provider.verify(target('alice'))).toBe(true);
    const creates = aws.callsTo('CreateAccountAssignment');
    expect(creates.map((call) => call.body)).toEqual([
      {
        InstanceArn: aws.instanceArn,
        TargetId: PROD,
        TargetType: 'AWS_ACCOUNT',
        PermissionSetArn: permissionSet,
        PrincipalType: 'USER',
        PrincipalId: aliceId,
      },
      expect.objectContaining({ TargetId: STAGING, PrincipalId: aliceId }),
    ]);
    expect(aws.callsTo('GetUserId')[0]?.body).toEqual({
      IdentityStoreId: aws.identityStoreId,
      AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'alice' } },
    });
    expect(new Set(aws.calls.map((call) => call.accessKeyId))).toEqual(
      new Set([aws.credentials.accessKeyId]),
    );
  });

  it('waits while a request is IN_PROGRESS and returns only once it SUCCEEDED', async () => {
    aws.inProgressReads = 3;
    await provider.grant(target('alice', { accounts: [PROD] }));
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);
    const statuses = aws.callsTo('DescribeAccountAssignmentCreationStatus');
    expect(statuses).toHaveLength(4);
    expect(new Set(statuses.map((call) => call.body.AccountAssignmentCreationRequestId)).size).toBe(1);

    await provider.revoke(target('alice', { accounts: [PROD] }));
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(false);
    expect(aws.callsTo('DescribeAccountAssignmentDeletionStatus')).toHaveLength(4);
  });

  it('stops waiting with ProviderUnavailable when AWS does not finish in time', async () => {
    aws.inProgressReads = 1_000;
    const impatient = awsSso({}, { pollIntervalMs: 1, pollTimeoutMs: 5 });
    const failure = await failureOf(impatient.grant(target('alice')));
    expect(failure).toBeInstanceOf(ProviderUnavailable);
    expect(failure.message).toMatch(/has not finished to assign .* in account 111122223333 yet/);
    expect(aws.callsTo('DescribeAccountAssignmentCreationStatus')).toHaveLength(5);
  });

  it('removes the assignments; revoking what is gone, or a deleted user, succeeds', async () => {
    await provider.grant(target('alice'));
    aws.unassign(PROD, permissionSet, aliceId);
    await provider.revoke(target('alice'));
    expect(aws.callsTo('DeleteAccountAssignment').map((call) => call.body.TargetId)).toEqual([STAGING]);
    expect(aws.isAssigned(STAGING, permissionSet, aliceId)).toBe(false);

    await provider.revoke(target('alice'));
    expect(aws.callsTo('DeleteAccountAssignment')).toHaveLength(1);
    expect(await provider.verify(target('alice'))).toBe(false);

    aws.removeUser(aliceId);
    await provider.revoke(target('alice'));
    expect(await provider.verify(target('alice'))).toBe(false);
  });

  it('fails a grant whose request FAILED with AWS reason, retryable only when the reason says so', async () => {
    aws.failNextRequest('Received a 404 status error: Not supported policy arn:aws:iam::aws:policy/Gone.', {
      kind: 'creation',
    });
    const failure = await failureOf(provider.grant(target('alice')));
    expect(failure).toBeInstanceOf(InvalidInput);
    expect(failure.message).toContain('Not supported policy arn:aws:iam::aws:policy/Gone.');
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(false);

    aws.failNextRequest('Request failed due to an internal error, try again', { kind: 'creation' });
    await expect(provider.grant(target('alice'))).rejects.toBeInstanceOf(ProviderUnavailable);

    aws.failNextRequest('Deletion failed', { kind: 'deletion' });
    await provider.grant(target('alice'));
    const revoke = await failureOf(provider.revoke(target('alice')));
    expect(revoke).toBeInstanceOf(ProviderUnavailable);
    expect(revoke.message).toContain('Deletion failed');
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);
  });

  it('counts a FAILED or conflicting request as done only when the assignment is there', async () => {
    aws.failNextRequest('The account assignment already exists', { kind: 'creation', changedAnyway: true });
    await provider.grant(target('alice', { accounts: [PROD] }));
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);

    aws.failNext({ error: 'ConflictException', operation: 'CreateAccountAssignment' });
    const conflict = await failureOf(provider.grant(target('alice', { accounts: [STAGING] })));
    expect(conflict).toBeInstanceOf(ProviderUnavailable);
    expect(conflict.message).toContain('ConflictException');
    await provider.grant(target('alice', { accounts: [STAGING] }));
    expect(aws.isAssigned(STAGING, permissionSet, aliceId)).toBe(true);
  });

  it('lets the SDK retry throttling, and reports ProviderUnavailable when it persists', async () => {
    aws.failNext({
      error: 'ThrottlingException',
      message: 'Rate exceeded',
      times: 2,
      operation: 'CreateAccountAssignment',
    });
    await provider.grant(target('alice', { accounts: [PROD] }));
    expect(aws.callsTo('CreateAccountAssignment').map((call) => call.status)).toEqual([400, 400, 200]);
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);

    aws.calls.length = 0;
    aws.failNext({ error: 'ThrottlingException', status: 429, message: 'Rate exceeded', times: 10 });
    const throttled = await failureOf(provider.verify(target('alice')));
    expect(throttled).toBeInstanceOf(ProviderUnavailable);
    expect(throttled.message).toMatch(/ThrottlingException: Rate exceeded\); retry later/);
    expect(aws.calls).toHaveLength(3);

    aws.failNext({ error: 'InternalServerException', times: 10 });
    await expect(provider.revoke(target('alice'))).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);
  });

  it('reports an unknown user as UnknownIdentity, and a wrong identity store as a mistake', async () => {
    await expect(provider.checkIdentity?.(target('nobody'))).rejects.toBeInstanceOf(UnknownIdentity);
    const failure = await failureOf(provider.grant(target('nobody')));
    expect(failure).toBeInstanceOf(UnknownIdentity);
    expect(failure.message).toBe('IAM Identity Center has no user named nobody');
    await expect(provider.probe?.(target('nobody'))).rejects.toBeInstanceOf(UnknownIdentity);
    expect(await provider.verify(target('nobody'))).toBe(false);

    const elsewhere = awsSso({ identityStoreId: 'd-0000000000' });
    const wrongStore = await failureOf(elsewhere.grant(target('alice')));
    expect(wrongStore).toBeInstanceOf(InvalidInput);
    expect(wrongStore).not.toBeInstanceOf(UnknownIdentity);
    expect(wrongStore.message).toContain('ResourceNotFoundException');
    expect(aws.writeCalls()).toEqual([]);
  });

  it('matches by email, completing a bare identity with emailDomain', async () => {
    const byEmail = awsSso({ matchBy: 'email', emailDomain: 'corp.example' });
    await byEmail.grant(target('alice', { accounts: [PROD] }));
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(true);
    expect(aws.callsTo('GetUserId')[0]?.body.AlternateIdentifier).toEqual({
      UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'alice@corp.example' },
    });
    expect(await byEmail.verify(target('alice@corp.example', { accounts: [PROD] }))).toBe(true);

    const noDomain = awsSso({ matchBy: 'email' });
    await expect(noDomain.grant(target('alice'))).rejects.toThrow(
      /not an email address: set the provider's emailDomain/,
    );
    expect(() => awsSso({ emailDomain: 'corp.example' })).toThrow(/only used with matchBy: email/);
  });

  it('refuses protected users, by name (any case) or by user id, before any write', async () => {
    await expect(provider.checkIdentity?.(target('breakglass'))).rejects.toThrow(
      /protected Identity Center user/,
    );
    await expect(provider.grant(target('BreakGlass'))).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.probe?.(target('BreakGlass'))).rejects.toThrow(/protected/);
    const byId = awsSso({ protectedUsers: [aliceId] });
    await expect(byId.grant(target('alice'))).rejects.toThrow(
      `${aliceId} is a protected Identity Center user`,
    );
    expect(aws.writeCalls()).toEqual([]);
  });

  it('verifies false when one account lacks the assignment; other principals do not count', async () => {
    aws.pageSize = 1;
    for (const name of ['bob', 'carol', 'dave']) aws.assign(STAGING, permissionSet, aws.addUser(name));
    await provider.grant(target('alice'));
    expect(await provider.verify(target('alice'))).toBe(true);
    const pages = aws.callsTo('ListAccountAssignments').filter((call) => call.body.AccountId === STAGING);
    expect(pages.some((call) => typeof call.body.NextToken === 'string')).toBe(true);

    aws.unassign(PROD, permissionSet, aliceId);
    expect(await provider.verify(target('alice'))).toBe(false);
    aws.assign(PROD, permissionSet, aliceId);
    aws.unassign(STAGING, permissionSet, aliceId);
    expect(await provider.verify(target('alice'))).toBe(false);
  });

  it('probes with reads only: the user and each account as it stands', async () => {
    aws.assign(PROD, permissionSet, aliceId);
    const lines = await provider.probe?.(target('alice'));
    expect(lines).toEqual([
      `Identity Center user alice (user id ${aliceId})`,
      `permission set ${permissionSet} in account ${PROD}: already assigned`,
      `permission set ${permissionSet} in account ${STAGING}: not assigned yet`,
    ]);
    expect(aws.calls.length).toBeGreaterThan(0);
    expect(aws.writeCalls()).toEqual([]);
    expect(aws.isAssigned(STAGING, permissionSet, aliceId)).toBe(false);
  });

  it('refuses for good on bad credentials or a missing permission, naming what to fix', async () => {
    const wrongSecret = awsSso(
      {},
      { credentials: { ...aws.credentials, secretAccessKey: 'not-the-secret-0123456789' } },
    );
    const signature = await failureOf(wrongSecret.grant(target('alice')));
    expect(signature).toBeInstanceOf(InvalidInput);
    expect(signature.message).toMatch(/did not accept the bot's credentials .*InvalidSignatureException/);

    const unknownKey = awsSso(
      {},
      { credentials: { accessKeyId: 'AKIAUNKNOWNKEY000002', secretAccessKey: 'x' } },
    );
    const unrecognized = await failureOf(unknownKey.verify(target('alice')));
    expect(unrecognized).toBeInstanceOf(InvalidInput);
    expect(unrecognized.message).toContain('UnrecognizedClientException');
    expect(aws.calls.filter((call) => call.status === 403)).toHaveLength(2);

    aws.deny('sso:CreateAccountAssignment');
    const denied = await failureOf(provider.grant(target('alice')));
    expect(denied).toBeInstanceOf(InvalidInput);
    expect(denied.message).toMatch(
      /the bot's role needs sso:CreateAccountAssignment \(AccessDeniedException/,
    );
    aws.deny('identitystore:GetUserId');
    await expect(provider.verify(target('alice'))).rejects.toThrow(/needs identitystore:GetUserId/);

    const secrets = [aws.credentials.secretAccessKey, 'not-the-secret-0123456789', 'AKIAUNKNOWNKEY000002'];
    for (const failure of [signature, unrecognized, denied]) {
      for (const secret of secrets) expect(`${failure.message}\n${failure.stack}`).not.toContain(secret);
    }
    expect(aws.isAssigned(PROD, permissionSet, aliceId)).toBe(false);
  });

  it('keeps access key ids out of messages, and retries an AWS that cannot be reached', async () => {
    aws.failNext({
      error: 'ValidationException',
      message: `bad request signed by ${aws.credentials.accessKeyId}`,
    });
    const validation = await failureOf(provider.verify(target('alice')));
    expect(validation).toBeInstanceOf(InvalidInput);
    expect(validation.message).toContain('signed by [access key id]');
    expect(validation.message).not.toContain(aws.credentials.accessKeyId);

    const nowhere = awsSso(
      { ssoAdminEndpoint: 'http://127.0.0.1:9', identityStoreEndpoint: 'http://127.0.0.1:9' },
      { maxAttempts: 1, retryStrategy: retriesWithoutBackoff(1) },
    );
    const unreachable = await failureOf(nowhere.grant(target('alice')));
    expect(unreachable).toBeInstanceOf(ProviderUnavailable);
    expect(unreachable.message).toMatch(/could not reach AWS .*ECONNREFUSED/);
  });

  it('refuses a grant block it cannot use before calling AWS', async () => {
    const otherInstance = permissionSet.replace(aws.instanceId, 'ssoins-0000000000000000');
    await expect(provider.grant(target('alice', { permissionSet: otherInstance }))).rejects.toThrow(
      /permissionSet does not belong to the instance/,
    );
    await expect(provider.grant(target('alice', { accounts: [] }))).rejects.toThrow(/at least one account/);
    await expect(provider.grant(target('alice smith'))).rejects.toThrow(/not an Identity Center user name/);
    expect(aws.calls).toEqual([]);
  });

  it('validates its policy block and grant block', () => {
    const config = {
      type: 'aws-sso',
      region: 'eu-west-1',
      instanceArn: 'arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f',
      identityStoreId: 'd-93671a2b3c',
      identities: { UALICE01: 'alice@corp.example' },
    };
    expect(providerConfigSchema.safeParse(config).data).toMatchObject({
      type: 'aws-sso',
      matchBy: 'userName',
    });
    const bad = awsSsoProviderConfigSchema.safeParse({
      ...config,
      region: 'Europe',
      instanceArn: 'arn:aws:sso:::instance/abc',
      identityStoreId: 'store',
      ssoAdminEndpoint: 'ftp://vpce.example',
      matchBy: 'employeeNumber',
    });
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'region',
      'instanceArn',
      'identityStoreId',
      'ssoAdminEndpoint',
      'matchBy',
    ]);

    const grant = awsSsoGrantSchema.safeParse({
      permissionSet: 'arn:aws:sso:::permissionSet/ssoins-72230a1b2c3d4e5f/ps-0123456789abcdef',
      accounts: [PROD, 444455556666, '1234'],
    });
    expect(grant.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['accounts.1', 'must be a 12-digit account id, quoted ("012345678901")'],
      ['accounts.2', 'must be a 12-digit account id, quoted ("012345678901")'],
    ]);
    expect(
      awsSsoGrantSchema.safeParse({ permissionSet, accounts: [PROD, PROD] }).error?.issues[0]?.message,
    ).toBe('must not list an account twice');
  });
});
