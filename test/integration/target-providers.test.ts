import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftReport } from '../../src/app/drift.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { runCheckRound } from '../support/bot-queues.js';
import { type FakeAwsSso, startFakeAwsSso } from '../support/fake-aws-sso.js';
import { type FakeKubernetes, startFakeKubernetes } from '../support/fake-kubernetes.js';
import { type Harness, startHarness, users } from '../support/harness.js';
import { type MysqlFixture, mysqlFixture, mysqlGranterUrl } from '../support/mysql.js';

/**
 * The whole lifecycle (request → approve → grant → release, and drift) on the providers whose
 * access lives in a database server or a cloud: a real MariaDB, and AWS IAM Identity Center
 * through the real SDK against the local fake of its JSON protocol, and Kubernetes RBAC through the
 * real client against the local fake of its REST API.
 */

const PROD = '111122223333';
const STAGING = '444455556666';

let db: MysqlFixture;
let analyst: string;
let aliceDb: { user: string; password: string };
let aws: FakeAwsSso;
let permissionSet: string;
let aliceAwsId: string;
let kube: FakeKubernetes;
let kubeDir: string;
let h: Harness;

beforeAll(async () => {
  db = await mysqlFixture();
  analyst = await db.role('analyst');
  aliceDb = await db.user('alice');
  aws = await startFakeAwsSso();
  permissionSet = aws.addPermissionSet('ReadOnly');
  aliceAwsId = aws.addUser('alice.aws', { email: 'alice@example.com' });
  kube = await startFakeKubernetes();
  kube.addNamespace('team-a');
  kube.addClusterRole('view');
  kubeDir = await mkdtemp(join(tmpdir(), 'jit-kube-'));
  const kubeconfig = join(kubeDir, 'kubeconfig');
  // A kubeconfig file, as a deployment mounts one. The client refuses plain http unless TLS
  // verification is off, which only the fake needs.
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: kube.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'jit-bot', user: { token: kube.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'jit-bot' } }],
      'current-context': 'fake',
    }),
  );
  // The SDK's default credential chain reads these, as it would on a server (this test file
  // runs in a process of its own).
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  h = await startHarness({
    driftCheckIntervalMs: 3_600_000,
    extraProviders: `
  mariadb:
    type: mysql
    url: ${mysqlGranterUrl()}
    identities: { ${users.alice}: ${aliceDb.user} }
  aws:
    type: aws-sso
    region: ${aws.region}
    instanceArn: ${aws.instanceArn}
    identityStoreId: ${aws.identityStoreId}
    ssoAdminEndpoint: ${aws.endpoint}
    identityStoreEndpoint: ${aws.endpoint}
    identities: { ${users.alice}: alice.aws }
  cluster:
    type: kubernetes
    kubeconfig: ${kubeconfig}
    userPrefix: "oidc:"
    identities: { ${users.alice}: alice }`,
    extraResources: `
  mariadb-analyst:
    description: Read the analytics schema
    provider: mariadb
    grant: { role: ${analyst} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  aws-readonly:
    description: Read-only in the prod and staging accounts
    provider: aws
    grant: { permissionSet: ${permissionSet}, accounts: ["${PROD}", "${STAGING}"] }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  team-a-view:
    description: Read team-a's namespace
    provider: cluster
    grant: { clusterRole: view, namespace: team-a }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
});
afterAll(async () => {
  await h?.stop();
  await aws?.close();
  await kube?.close();
  await db?.drop();
  if (kubeDir) await rm(kubeDir, { recursive: true, force: true });
});

async function approve(id: string): Promise<void> {
  await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
}

async function row(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

describe('mysql provider in the bot', () => {
  it('grants the role on approval and takes it back, connections ended, at the release', async () => {
    const id = await h.request(users.alice, 'mariadb-analyst', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await db.holds(aliceDb.user, analyst)).toBe(true);
    const session: mysql.Connection = await db.connectAs(aliceDb.user, aliceDb.password);
    await session.query(`SET ROLE ${session.escapeId(analyst)}`);

    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
    expect(await db.holds(aliceDb.user, analyst)).toBe(false);
    expect(await db.sessionsOf(aliceDb.user)).toEqual([]);
    session.destroy();
  });

  it('drift grants again a role removed behind the bot, and revokes one re-added after the end', async () => {
    const id = await h.request(users.alice, 'mariadb-analyst', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    await db.admin.query(`REVOKE ${db.admin.escapeId(analyst)} FROM ?@?`, [aliceDb.user, '%']);
    const first = await runCheckRound<DriftReport>(h.bot.queues.drift, 'test-drift-mysql-1');
    expect(first.regranted).toContain(id);
    expect(await db.holds(aliceDb.user, analyst)).toBe(true);

    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
    await db.admin.query(`GRANT ${db.admin.escapeId(analyst)} TO ?@?`, [aliceDb.user, '%']);
    const second = await runCheckRound<DriftReport>(h.bot.queues.drift, 'test-drift-mysql-2');
    expect(second.revoked).toContain(id);
    expect(await db.holds(aliceDb.user, analyst)).toBe(false);
  });
});

describe('aws-sso provider in the bot', () => {
  it('assigns the permission set in every account on approval and removes it at the release', async () => {
    aws.inProgressReads = 1;
    const id = await h.request(users.alice, 'aws-readonly', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`, 15_000);
    expect(aws.isAssigned(PROD, permissionSet, aliceAwsId)).toBe(true);
    expect(aws.isAssigned(STAGING, permissionSet, aliceAwsId)).toBe(true);
    // The bot waited for AWS to finish the asynchronous requests before calling it granted.
    expect(aws.callsTo('DescribeAccountAssignmentCreationStatus').length).toBeGreaterThanOrEqual(2);

    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
    expect(aws.isAssigned(PROD, permissionSet, aliceAwsId)).toBe(false);
    expect(aws.isAssigned(STAGING, permissionSet, aliceAwsId)).toBe(false);
  });

  it('drift finds an assignment removed by hand in one account and assigns it again', async () => {
    const id = await h.request(users.alice, 'aws-readonly', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`, 15_000);
    aws.unassign(STAGING, permissionSet, aliceAwsId);
    const report = await runCheckRound<DriftReport>(h.bot.queues.drift, 'test-drift-aws-1');
    expect(report.regranted).toContain(id);
    expect(aws.isAssigned(STAGING, permissionSet, aliceAwsId)).toBe(true);
    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
  });
});

describe('kubernetes provider in the bot', () => {
  it('creates a marked RoleBinding on approval and deletes it at the release', async () => {
    const id = await h.request(users.alice, 'team-a-view', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    const name = id.toLowerCase();
    const binding = kube.binding('rolebindings', 'team-a', name) as unknown as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      subjects: Array<{ kind: string; name: string }>;
      roleRef: { kind: string; name: string };
    };
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'User', name: 'oidc:alice' })]);
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'view' });
    expect(binding.metadata.labels['app.kubernetes.io/managed-by']).toBe('jit-bot');
    expect(binding.metadata.annotations['jit-bot/request-id']).toBe(id);
    const expiresAt = (await row(id)).expiresAt?.toISOString();
    expect(binding.metadata.annotations['jit-bot/expires-at']).toBe(expiresAt);

    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
    expect(kube.binding('rolebindings', 'team-a', name)).toBeUndefined();
  });

  it('drift removes a marked binding whose request the bot does not know', async () => {
    const id = await h.request(users.alice, 'team-a-view', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    // A copy of a marked binding for a request the bot never had (restored from an old backup).
    const live = kube.binding('rolebindings', 'team-a', id.toLowerCase());
    if (!live) throw new Error('the grant made no binding');
    const { labels = {}, annotations = {} } = live.metadata as {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    kube.putBinding('rolebindings', 'team-a', {
      ...structuredClone(live),
      metadata: {
        name: 'jit-zz9999',
        namespace: 'team-a',
        labels: { ...labels, 'jit-bot/request': 'jit-zz9999' },
        annotations: { ...annotations, 'jit-bot/request-id': 'JIT-ZZ9999' },
      },
    });
    const report = await runCheckRound<DriftReport>(h.bot.queues.drift, 'test-drift-kube-1');
    expect(report.leftovers).toEqual(['cluster/rolebinding/team-a/jit-zz9999']);
    expect(kube.binding('rolebindings', 'team-a', 'jit-zz9999')).toBeUndefined();
    // The live grant's own binding is left alone.
    expect(kube.binding('rolebindings', 'team-a', id.toLowerCase())).toBeDefined();
    const audit = await h.db.prisma.auditEvent.findFirst({
      where: { action: 'drift.revoked', requestId: null },
      orderBy: { id: 'desc' },
    });
    expect(audit?.details).toMatchObject({ markedRequest: 'JIT-ZZ9999', state: 'unknown request' });
    await h.slash(users.alice, `release ${id}`);
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
  });
});
