import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server speaking the AWS JSON 1.1 protocol for the calls the aws-sso provider makes:
 * SSO Admin (`X-Amz-Target: SWBExternalService.<Op>`: Create/DeleteAccountAssignment, their
 * Describe…Status, ListAccountAssignments) and Identity Store (`AWSIdentityStore.GetUserId`),
 * both on `POST /` with `Content-Type: application/x-amz-json-1.1`. Bodies and errors are shaped
 * as the SDK's own (de)serializers read them: errors carry `__type`, `message` and the
 * `x-amzn-ErrorType` header, with the statuses of AWS's error tables.
 *
 * Every request must be signed with SigV4 by the expected access key for the right service
 * (`sso` or `identitystore`) and region; the signature is recomputed with the secret, so a wrong
 * secret is refused (InvalidSignatureException) as well as an unknown key (UnrecognizedClient).
 *
 * Assignment requests are asynchronous as on AWS: a created or deleted assignment answers
 * IN_PROGRESS, stays so for `inProgressReads` status reads, then SUCCEEDED (the assignment
 * appears or goes at that moment) or a scripted FAILED.
 *
 * Not modelled: groups, accounts outside the organization, permission set provisioning, the
 * management account's special roles, rate limits other than scripted ones. What AWS answers to
 * creating an assignment that exists or deleting one that does not is not documented; here the
 * first succeeds and the second is a ResourceNotFoundException (the provider lists first and
 * depends on neither). Tests change users and assignments directly to act behind the bot's back.
 */

export type AwsService = 'sso' | 'identitystore';

export interface FakeAwsCall {
  service: AwsService;
  operation: string;
  body: Record<string, unknown>;
  /** The access key id the request was signed with, when it was signed at all. */
  accessKeyId: string | undefined;
  status: number;
  errorType?: string;
}

export interface FakeAwsFault {
  /** The error's `__type`: ThrottlingException, InternalServerException, ConflictException… */
  error: string;
  /** HTTP status; the one AWS documents for the error by default. */
  status?: number;
  message?: string;
  /** Only calls of this operation fail (and count); any operation by default. */
  operation?: string;
  /** How many consecutive (matching) calls fail; 1 by default. */
  times?: number;
}

export interface RequestFailure {
  /** Only requests of this kind fail; either by default. */
  kind?: 'creation' | 'deletion';
  /**
   * The request's change is made all the same, as when another request made (or removed) the
   * same assignment meanwhile and this one fails as "already exists" (or "does not exist").
   */
  changedAnyway?: boolean;
}

interface OperationRecord {
  kind: 'creation' | 'deletion';
  requestId: string;
  assignment: Assignment;
  createdDate: number;
  readsLeft: number;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  failureReason?: string;
}

interface Assignment {
  AccountId: string;
  PermissionSetArn: string;
  PrincipalType: string;
  PrincipalId: string;
}

interface Answer {
  status: number;
  body: unknown;
  errorType?: string;
}

const TARGETS: Record<string, { service: AwsService; namespace: string }> = {
  SWBExternalService: { service: 'sso', namespace: 'com.amazonaws.ssoadmin' },
  AWSIdentityStore: { service: 'identitystore', namespace: 'com.amazonaws.identitystore' },
};

/** The status AWS's API references give each error. */
const ERROR_STATUS: Record<string, number> = {
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  MissingAuthenticationTokenException: 403,
};

const WRITES = new Set(['CreateAccountAssignment', 'DeleteAccountAssignment']);
const ACCOUNT_ID = /^\d{12}$/;
const PERMISSION_SET_ARN = /^arn:aws:sso:::permissionSet\/ssoins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/;

export class FakeAwsSso {
  readonly calls: FakeAwsCall[] = [];
  /** The endpoint for both services (`ssoAdminEndpoint` and `identityStoreEndpoint`). */
  readonly endpoint: string;
  readonly region = 'eu-west-1';
  readonly instanceId = 'ssoins-72230a1b2c3d4e5f';
  readonly instanceArn = `arn:aws:sso:::instance/${this.instanceId}`;
  readonly identityStoreId = 'd-93671a2b3c';
  readonly credentials = {
    accessKeyId: 'AKIAJITBOTFAKE000001',
    secretAccessKey: 'fAkEsEcReTkEyFoRtHeJiTbOtTeStS0123456789',
  };
  /** How many status reads answer IN_PROGRESS before a request finishes. */
  inProgressReads = 1;
  /** ListAccountAssignments page size (AWS's MaxResults caps it further). */
  pageSize = 100;
  private readonly users = new Map<string, { userName: string; emails: string[] }>();
  private readonly permissionSets = new Set<string>();
  private readonly assignments = new Map<string, Assignment>();
  private readonly operations = new Map<string, OperationRecord>();
  private readonly denied = new Set<string>();
  private fault: (FakeAwsFault & { times: number }) | undefined;
  private failures: (RequestFailure & { reason: string; times: number }) | undefined;

  constructor(private readonly server: Server) {
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  /** A permission set of the instance; its ARN. */
  addPermissionSet(name: string): string {
    const suffix = createHash('sha256').update(name).digest('hex').slice(0, 16);
    const arn = `arn:aws:sso:::permissionSet/${this.instanceId}/ps-${suffix}`;
    this.permissionSets.add(arn);
    return arn;
  }

  /** An Identity Center user; its user id. */
  addUser(userName: string, options: { email?: string } = {}): string {
    const userId = `${randomUUID().slice(0, 10)}-${randomUUID()}`;
    this.users.set(userId, { userName, emails: options.email ? [options.email] : [] });
    return userId;
  }

  removeUser(userId: string): void {
    this.users.delete(userId);
  }

  /** Assigns directly, as an admin would in the console: no call is recorded. */
  assign(account: string, permissionSet: string, userId: string): void {
    const assignment = userAssignment(account, permissionSet, userId);
    this.assignments.set(keyOf(assignment), assignment);
  }

  unassign(account: string, permissionSet: string, userId: string): void {
    this.assignments.delete(keyOf(userAssignment(account, permissionSet, userId)));
  }

  isAssigned(account: string, permissionSet: string, userId: string): boolean {
    return this.assignments.has(keyOf(userAssignment(account, permissionSet, userId)));
  }

  /** Makes the next `times` matching calls answer with this error. */
  failNext(fault: FakeAwsFault): void {
    this.fault = { ...fault, times: fault.times ?? 1 };
  }

  /** Makes the next `times` assignment requests (of that kind) finish FAILED with this reason. */
  failNextRequest(reason: string, options: RequestFailure & { times?: number } = {}): void {
    this.failures = { ...options, reason, times: options.times ?? 1 };
  }

  /** Answers AccessDeniedException to every call of this IAM action (`sso:CreateAccountAssignment`). */
  deny(action: string): void {
    this.denied.add(action);
  }

  reset(): void {
    this.calls.length = 0;
    this.users.clear();
    this.assignments.clear();
    this.operations.clear();
    this.denied.clear();
    this.fault = undefined;
    this.failures = undefined;
    this.inProgressReads = 1;
    this.pageSize = 100;
  }

  callsTo(operation: string): FakeAwsCall[] {
    return this.calls.filter((call) => call.operation === operation);
  }

  /** The calls that change anything on AWS. */
  writeCalls(): FakeAwsCall[] {
    return this.calls.filter((call) => WRITES.has(call.operation));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** @internal */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const [prefix = '', operation = ''] = String(req.headers['x-amz-target'] ?? '').split('.');
    const target = TARGETS[prefix];
    const body = parseObject(raw);
    const signedBy = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const answer = this.answer(req, raw, target, operation, body);
    if (target) {
      this.calls.push({
        service: target.service,
        operation,
        body: body ?? {},
        accessKeyId: signedBy,
        status: answer.status,
        ...(answer.errorType ? { errorType: answer.errorType } : {}),
      });
    }
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
    };
    if (answer.errorType) headers['x-amzn-errortype'] = `${answer.errorType}:`;
    res.writeHead(answer.status, headers);
    res.end(JSON.stringify(answer.body));
  }

  private answer(
    req: IncomingMessage,
    raw: Buffer,
    target: (typeof TARGETS)[string] | undefined,
    operation: string,
    body: Record<string, unknown> | undefined,
  ): Answer {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://fake').pathname !== '/') {
      return error('UnknownOperationException', undefined, 404);
    }
    if (!target) return error('UnknownOperationException', undefined, 400);
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
      return error(
        'SerializationException',
        undefined,
        400,
        'Content-Type must be application/x-amz-json-1.1',
      );
    }
    const refused = this.checkSignature(req, raw, target.service);
    if (refused) return refused;
    if (!body) {
      return error(
        'SerializationException',
        target.namespace,
        400,
        'Start of structure or map found where not expected.',
      );
    }
    const action = `${target.service}:${operation}`;
    if (this.denied.has(action)) {
      return error(
        'AccessDeniedException',
        target.namespace,
        400,
        `User: arn:aws:sts::111122223333:assumed-role/jit-bot/session is not authorized to perform: ${action}`,
      );
    }
    if (this.fault && this.fault.times > 0 && (!this.fault.operation || this.fault.operation === operation)) {
      this.fault.times -= 1;
      const { error: type, status, message } = this.fault;
      return error(type, target.namespace, status ?? ERROR_STATUS[type] ?? 400, message);
    }
    const ns = target.namespace;
    if (target.service === 'identitystore') {
      return operation === 'GetUserId'
        ? this.getUserId(body, ns)
        : error('UnknownOperationException', undefined, 400);
    }
    switch (operation) {
      case 'CreateAccountAssignment':
      case 'DeleteAccountAssignment':
        return this.startRequest(operation === 'CreateAccountAssignment' ? 'creation' : 'deletion', body, ns);
      case 'DescribeAccountAssignmentCreationStatus':
        return this.describe('creation', body, ns);
      case 'DescribeAccountAssignmentDeletionStatus':
        return this.describe('deletion', body, ns);
      case 'ListAccountAssignments':
        return this.listAssignments(body, ns);
      default:
        return error('UnknownOperationException', undefined, 400);
    }
  }

  /** SigV4 as AWS checks it: known key, scope for this service and region, signature over the request. */
  private checkSignature(req: IncomingMessage, raw: Buffer, service: AwsService): Answer | undefined {
    const authorization = String(req.headers.authorization ?? '');
    const parts =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!parts) {
      return error('MissingAuthenticationTokenException', undefined, 403, 'Missing Authentication Token');
    }
    const [, keyId, date, region, scopeService, signedHeaders = '', signature] = parts;
    if (keyId !== this.credentials.accessKeyId) {
      return error(
        'UnrecognizedClientException',
        undefined,
        403,
        'The security token included in the request is invalid.',
      );
    }
    if (scopeService !== service || region !== this.region) {
      return error(
        'InvalidSignatureException',
        undefined,
        403,
        `Credential should be scoped to a valid region and to the correct service: '${service}'.`,
      );
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const headerValue = (name: string) =>
      String(req.headers[name] ?? '')
        .trim()
        .replace(/\s+/g, ' ');
    const headerLines = signedHeaders
      .split(';')
      .map((name) => `${name}:${headerValue(name)}\n`)
      .join('');
    const canonical = ['POST', '/', '', headerLines, signedHeaders, sha256(raw)].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    let key = hmac(`AWS4${this.credentials.secretAccessKey}`, date as string);
    for (const part of [region as string, service, 'aws4_request']) key = hmac(key, part);
    if (hmac(key, toSign).toString('hex') !== signature) {
      return error(
        'InvalidSignatureException',
        undefined,
        403,
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    return undefined;
  }

  private getUserId(body: Record<string, unknown>, ns: string): Answer {
    if (body.IdentityStoreId !== this.identityStoreId) {
      return error('ResourceNotFoundException', ns, 400, 'IDENTITY_STORE not found.', {
        ResourceType: 'IDENTITY_STORE',
        ResourceId: body.IdentityStoreId,
      });
    }
    const unique = (
      body.AlternateIdentifier as
        | { UniqueAttribute?: { AttributePath?: unknown; AttributeValue?: unknown } }
        | undefined
    )?.UniqueAttribute;
    const path = unique?.AttributePath;
    const value = unique?.AttributeValue;
    if ((path !== 'userName' && path !== 'emails.value') || typeof value !== 'string') {
      return error('ValidationException', ns, 400, 'Invalid AlternateIdentifier');
    }
    const found = [...this.users].find(([, user]) =>
      path === 'userName' ? user.userName === value : user.emails.includes(value),
    );
    if (!found)
      return error('ResourceNotFoundException', ns, 400, 'USER not found.', { ResourceType: 'USER' });
    return { status: 200, body: { UserId: found[0], IdentityStoreId: this.identityStoreId } };
  }

  /** Checks what AWS would reject in an assignment request; the assignment, or the error. */
  private assignmentIn(body: Record<string, unknown>, ns: string): Assignment | Answer {
    if (body.InstanceArn !== this.instanceArn)
      return error('ResourceNotFoundException', ns, 400, 'Instance not found');
    const { TargetId, TargetType, PermissionSetArn, PrincipalType, PrincipalId } = body;
    if (typeof TargetId !== 'string' || !ACCOUNT_ID.test(TargetId) || TargetType !== 'AWS_ACCOUNT') {
      return error('ValidationException', ns, 400, 'The TargetId must be a 12-digit AWS account id');
    }
    if (PrincipalType !== 'USER' && PrincipalType !== 'GROUP') {
      return error('ValidationException', ns, 400, 'PrincipalType must be USER or GROUP');
    }
    if (typeof PermissionSetArn !== 'string' || !PERMISSION_SET_ARN.test(PermissionSetArn)) {
      return error('ValidationException', ns, 400, 'The PermissionSetArn is not valid');
    }
    if (!this.permissionSets.has(PermissionSetArn))
      return error('ResourceNotFoundException', ns, 400, 'PermissionSet not found');
    if (typeof PrincipalId !== 'string' || (PrincipalType === 'USER' && !this.users.has(PrincipalId))) {
      return error('ResourceNotFoundException', ns, 400, 'Principal not found');
    }
    return { AccountId: TargetId, PermissionSetArn, PrincipalType, PrincipalId };
  }

  private startRequest(kind: 'creation' | 'deletion', body: Record<string, unknown>, ns: string): Answer {
    const assignment = this.assignmentIn(body, ns);
    if ('status' in assignment) return assignment;
    if (kind === 'deletion' && !this.assignments.has(keyOf(assignment))) {
      return error('ResourceNotFoundException', ns, 400, 'The account assignment does not exist');
    }
    const record: OperationRecord = {
      kind,
      requestId: randomUUID(),
      assignment,
      createdDate: Date.now() / 1000,
      readsLeft: this.inProgressReads,
      status: 'IN_PROGRESS',
    };
    this.operations.set(record.requestId, record);
    return { status: 200, body: { [statusField(kind)]: statusOf(record) } };
  }

  private describe(kind: 'creation' | 'deletion', body: Record<string, unknown>, ns: string): Answer {
    if (body.InstanceArn !== this.instanceArn)
      return error('ResourceNotFoundException', ns, 400, 'Instance not found');
    const id =
      body[kind === 'creation' ? 'AccountAssignmentCreationRequestId' : 'AccountAssignmentDeletionRequestId'];
    const record = typeof id === 'string' ? this.operations.get(id) : undefined;
    if (!record || record.kind !== kind)
      return error('ResourceNotFoundException', ns, 400, 'Request not found');
    if (record.status === 'IN_PROGRESS') {
      if (record.readsLeft > 0) record.readsLeft -= 1;
      else this.finish(record);
    }
    return { status: 200, body: { [statusField(kind)]: statusOf(record) } };
  }

  private finish(record: OperationRecord): void {
    const failure = this.failures;
    if (failure && failure.times > 0 && (!failure.kind || failure.kind === record.kind)) {
      failure.times -= 1;
      record.status = 'FAILED';
      record.failureReason = failure.reason;
      if (failure.changedAnyway) this.apply(record);
      return;
    }
    record.status = 'SUCCEEDED';
    this.apply(record);
  }

  private apply(record: OperationRecord): void {
    const key = keyOf(record.assignment);
    if (record.kind === 'creation') this.assignments.set(key, record.assignment);
    else this.assignments.delete(key);
  }

  private listAssignments(body: Record<string, unknown>, ns: string): Answer {
    if (body.InstanceArn !== this.instanceArn)
      return error('ResourceNotFoundException', ns, 400, 'Instance not found');
    const { AccountId, PermissionSetArn, MaxResults, NextToken } = body;
    if (
      typeof AccountId !== 'string' ||
      !ACCOUNT_ID.test(AccountId) ||
      typeof PermissionSetArn !== 'string'
    ) {
      return error('ValidationException', ns, 400, 'AccountId and PermissionSetArn are required');
    }
    if (!this.permissionSets.has(PermissionSetArn))
      return error('ResourceNotFoundException', ns, 400, 'PermissionSet not found');
    const all = [...this.assignments.values()].filter(
      (assignment) => assignment.AccountId === AccountId && assignment.PermissionSetArn === PermissionSetArn,
    );
    const start =
      NextToken === undefined ? 0 : Number(Buffer.from(String(NextToken), 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0)
      return error('ValidationException', ns, 400, 'Invalid NextToken');
    const size = Math.min(this.pageSize, typeof MaxResults === 'number' ? MaxResults : 100);
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
    return { status: 200, body: { AccountAssignments: page, ...(next ? { NextToken: next } : {}) } };
  }
}

function statusField(kind: 'creation' | 'deletion'): string {
  return kind === 'creation' ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus';
}

/** AccountAssignmentOperationStatus as AWS documents it; CreatedDate in epoch seconds. */
function statusOf(record: OperationRecord) {
  return {
    Status: record.status,
    RequestId: record.requestId,
    ...(record.failureReason ? { FailureReason: record.failureReason } : {}),
    TargetId: record.assignment.AccountId,
    TargetType: 'AWS_ACCOUNT',
    PermissionSetArn: record.assignment.PermissionSetArn,
    PrincipalType: record.assignment.PrincipalType,
    PrincipalId: record.assignment.PrincipalId,
    CreatedDate: record.createdDate,
  };
}

function userAssignment(account: string, permissionSet: string, userId: string): Assignment {
  return { AccountId: account, PermissionSetArn: permissionSet, PrincipalType: 'USER', PrincipalId: userId };
}

function keyOf(assignment: Assignment): string {
  return [
    assignment.AccountId,
    assignment.PermissionSetArn,
    assignment.PrincipalType,
    assignment.PrincipalId,
  ].join('|');
}

function error(
  type: string,
  namespace: string | undefined,
  status: number,
  message?: string,
  fields: Record<string, unknown> = {},
): Answer {
  return {
    status,
    errorType: type,
    body: { __type: namespace ? `${namespace}#${type}` : type, message: message ?? type, ...fields },
  };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseObject(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8') || '{}');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A retry strategy that takes the SDK's own view of which errors are worth a retry (throttling,
 * transient) but does not wait between attempts, so tests of retries stay fast.
 */
export function retriesWithoutBackoff(maxAttempts: number) {
  const token = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0 });
  return {
    async acquireInitialRetryToken(_scope: string) {
      return token(0);
    },
    async refreshRetryTokenForRetry(previous: { getRetryCount(): number }, info: { errorType: string }) {
      const count = previous.getRetryCount() + 1;
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
      if (!retryable || count >= maxAttempts) throw new Error('No retry token available');
      return token(count);
    },
    recordSuccess(_token: unknown) {},
  };
}

export async function startFakeAwsSso(): Promise<FakeAwsSso> {
  let fake: FakeAwsSso | undefined;
  const server = createServer((req, res) => {
    fake?.handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake = new FakeAwsSso(server);
  return fake;
}
