import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import {
  createKubernetesProvider,
  kubernetesGrantSchema,
  kubernetesProviderConfigSchema,
} from '../../src/providers/kubernetes.js';
import { type FakeKubernetes, startFakeKubernetes } from '../support/fake-kubernetes.js';
import { closedPort } from '../support/ports.js';

let kube: FakeKubernetes;
let provider: Provider;

const EXPIRES = new Date('2030-01-02T03:04:05.000Z');
const VIEW = { clusterRole: 'view', namespace: 'team-a' };
const RULES = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }];

function target(grant: Record<string, unknown> = VIEW, overrides: Partial<GrantTarget> = {}): GrantTarget {
  return {
    requestId: 'JIT-AB12CD',
    identity: 'alice',
    userId: 'UALICE01',
    resource: 'k8s-team-a-view',
    grant,
    expiresAt: EXPIRES,
    ...overrides,
  };
}

/** A kubeconfig pointing at `server` with a bearer token, as tests build one. */
function kubeConfig(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // The client refuses plain http unless TLS verification is explicitly off.
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'jit-bot', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'jit-bot' }],
    currentContext: 'fake',
  });
  return kc;
}

function providerWith(config: Parameters<typeof createKubernetesProvider>[0] = {}, token = kube.token) {
  return createKubernetesProvider(config, { kubeConfig: kubeConfig(kube.url, token) });
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const roleBinding = (name = 'jit-ab12cd', namespace = 'team-a') =>
  kube.binding('rolebindings', namespace, name);

beforeAll(async () => {
  kube = await startFakeKubernetes();
  provider = providerWith();
});
afterAll(async () => {
  await provider?.close();
  await kube?.close();
});
beforeEach(() => {
  kube.reset();
  kube.addNamespace('team-a');
  kube.addClusterRole('view', RULES);
  kube.addClusterRole('edit', RULES);
  kube.addRole('team-a', 'deployer', RULES);
});

describe('kubernetes provider grants', () => {
  it('binds a ClusterRole in a namespace with a RoleBinding named after the request, marked, and verifies it', async () => {
    expect(await provider.verify(target())).toBe(false);
    await provider.grant(target());

    const binding = roleBinding();
    expect(binding?.metadata).toMatchObject({
      name: 'jit-ab12cd',
      namespace: 'team-a',
      labels: {
        'app.kubernetes.io/managed-by': 'jit-bot',
        'jit-bot/request': 'jit-ab12cd',
        'jit-bot/expires': String(EXPIRES.getTime() / 1000),
      },
      annotations: { 'jit-bot/request-id': 'JIT-AB12CD', 'jit-bot/expires-at': '2030-01-02T03:04:05.000Z' },
    });
    expect(binding?.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(binding?.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'view',
    });
    expect(binding?.subjects).toEqual([
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
    ]);
    expect(await provider.verify(target())).toBe(true);

    const [create] = kube.writes();
    expect(create).toMatchObject({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings',
      authorization: `Bearer ${kube.token}`,
      status: 201,
    });
  });

  it("binds a namespace's own Role with a RoleBinding", async () => {
    await provider.grant(target({ role: 'deployer', namespace: 'team-a' }));
    expect(roleBinding()?.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'deployer',
    });
    expect(await provider.verify(target({ role: 'deployer', namespace: 'team-a' }))).toBe(true);
    // The same name bound to another role is not this grant's access.
    expect(await provider.verify(target({ clusterRole: 'deployer', namespace: 'team-a' }))).toBe(false);
  });

  it('binds a ClusterRole cluster-wide with a ClusterRoleBinding', async () => {
    await provider.grant(target({ clusterRole: 'view' }));
    const binding = kube.binding('clusterrolebindings', undefined, 'jit-ab12cd');
    expect(binding?.metadata.namespace).toBeUndefined();
    expect(binding?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('jit-bot');
    expect(binding?.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'view' });
    expect(kube.bindings('rolebindings')).toEqual([]);
    expect(await provider.verify(target({ clusterRole: 'view' }))).toBe(true);
    expect(await provider.verify(target())).toBe(false);
  });

  it('granting twice is granting once: the second finds its own binding and changes nothing', async () => {
    await provider.grant(target());
    const first = roleBinding();
    await provider.grant(target());
    expect(kube.bindings('rolebindings')).toHaveLength(1);
    expect(roleBinding()?.metadata.resourceVersion).toBe(first?.metadata.resourceVersion);
    expect(kube.writes().map((call) => call.status)).toEqual([201, 409]);
  });

  it('never overwrites, counts or deletes a binding of the same name that is not this grant', async () => {
    // The very access the grant would give, but not made by it.
    const foreign = kube.putBinding('rolebindings', 'team-a', {
      metadata: { name: 'jit-ab12cd', labels: { team: 'a' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }],
    });
    const refused = await errorOf(provider.grant(target()));
    expect(refused).toBeInstanceOf(InvalidInput);
    expect(refused.message).toMatch(
      /RoleBinding "jit-ab12cd" in namespace "team-a" already exists and is not this grant's/,
    );
    expect(await provider.verify(target())).toBe(false);
    // Nothing of this grant's to take back: the cleanup revoke of the refused grant leaves it be.
    await provider.revoke(target());
    expect(roleBinding()).toEqual(foreign);

    // Marked by the bot, but for another request: not this grant's either.
    kube.editBinding('rolebindings', 'team-a', 'jit-ab12cd', (binding) => {
      binding.metadata.labels = { 'app.kubernetes.io/managed-by': 'jit-bot' };
      binding.metadata.annotations = { 'jit-bot/request-id': 'JIT-OTHER1' };
    });
    await expect(provider.grant(target())).rejects.toBeInstanceOf(InvalidInput);
    expect(await provider.verify(target())).toBe(false);
    await provider.revoke(target());
    expect(roleBinding()?.metadata.annotations).toEqual({ 'jit-bot/request-id': 'JIT-OTHER1' });
    expect(kube.writes().filter((call) => call.method === 'DELETE')).toEqual([]);
  });

  it('refuses a role or namespace that does not exist, and creates nothing', async () => {
    await expect(provider.grant(target({ clusterRole: 'nope', namespace: 'team-a' }))).rejects.toThrow(
      /ClusterRole "nope" does not exist/,
    );
    await expect(provider.grant(target({ role: 'nope', namespace: 'team-a' }))).rejects.toThrow(
      /Role "nope" in namespace "team-a" does not exist/,
    );
    const missing = await errorOf(provider.grant(target({ clusterRole: 'view', namespace: 'ghost' })));
    expect(missing).toBeInstanceOf(InvalidInput);
    expect(missing.message).toMatch(/namespace "ghost" does not exist/);
    expect(kube.bindings('rolebindings')).toEqual([]);
  });
});

describe('kubernetes provider revokes', () => {
  it('deletes the binding, guarded by its uid; revoking what is gone succeeds', async () => {
    await provider.grant(target());
    const uid = roleBinding()?.metadata.uid;
    await provider.revoke(target());
    expect(roleBinding()).toBeUndefined();
    const [deleted] = kube.writes().filter((call) => call.method === 'DELETE');
    expect(deleted?.path).toBe(
      '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/jit-ab12cd',
    );
    expect(deleted?.body).toMatchObject({ preconditions: { uid } });

    await provider.revoke(target());
    await provider.revoke(target({ clusterRole: 'view' }));
    expect(await provider.verify(target())).toBe(false);
  });

  it('verify says false once the binding is deleted behind its back or bound to someone else', async () => {
    await provider.grant(target());
    expect(kube.deleteBinding('rolebindings', 'team-a', 'jit-ab12cd')).toBe(true);
    expect(await provider.verify(target())).toBe(false);

    await provider.grant(target());
    expect(await provider.verify(target())).toBe(true);
    kube.editBinding('rolebindings', 'team-a', 'jit-ab12cd', (binding) => {
      binding.subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'mallory' }];
    });
    expect(await provider.verify(target())).toBe(false);
    kube.editBinding('rolebindings', 'team-a', 'jit-ab12cd', (binding) => {
      binding.subjects = [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }];
    });
    expect(await provider.verify(target())).toBe(false);
  });
});

describe('kubernetes provider marked bindings', () => {
  it('lists the marked bindings in every namespace and cluster-wide, ignoring unmarked ones', async () => {
    kube.addNamespace('team-b');
    await provider.grant(target());
    await provider.grant(target({ clusterRole: 'edit', namespace: 'team-b' }, { requestId: 'JIT-CD34EF' }));
    await provider.grant(target({ clusterRole: 'view' }, { requestId: 'JIT-GH56JK' }));
    kube.putBinding('rolebindings', 'team-a', {
      metadata: { name: 'hand-made', labels: { team: 'a' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    kube.putBinding('clusterrolebindings', undefined, {
      metadata: { name: 'cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'Group', name: 'admins' }],
    });

    const found = await provider.listManaged?.();
    expect(found).toEqual(
      expect.arrayContaining([
        { requestId: 'JIT-AB12CD', expiresAt: EXPIRES, ref: 'rolebinding/team-a/jit-ab12cd' },
        { requestId: 'JIT-CD34EF', expiresAt: EXPIRES, ref: 'rolebinding/team-b/jit-cd34ef' },
        { requestId: 'JIT-GH56JK', expiresAt: EXPIRES, ref: 'clusterrolebinding/jit-gh56jk' },
      ]),
    );
    expect(found).toHaveLength(3);
    const lists = kube.calls.filter((call) => call.method === 'GET' && !call.path.includes('/jit-'));
    expect(lists.map((call) => [call.path, call.query.labelSelector])).toEqual(
      expect.arrayContaining([
        ['/apis/rbac.authorization.k8s.io/v1/rolebindings', 'app.kubernetes.io/managed-by=jit-bot'],
        ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', 'app.kubernetes.io/managed-by=jit-bot'],
      ]),
    );
  });

  it('removes what it found; removing one that is gone succeeds, and unmarked ones stay', async () => {
    await provider.grant(target());
    await provider.grant(target({ clusterRole: 'view' }, { requestId: 'JIT-GH56JK' }));
    kube.putBinding('rolebindings', 'team-a', {
      metadata: { name: 'hand-made' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    const found = (await provider.listManaged?.()) ?? [];
    expect(found).toHaveLength(2);
    for (const grant of found) await provider.removeManaged?.(grant);
    for (const grant of found) await provider.removeManaged?.(grant);
    expect(await provider.listManaged?.()).toEqual([]);
    expect(kube.bindings('clusterrolebindings')).toEqual([]);
    expect(kube.bindings('rolebindings').map((binding) => binding.metadata.name)).toEqual(['hand-made']);
    await expect(
      provider.removeManaged?.({ requestId: 'JIT-AB12CD', expiresAt: null, ref: 'team-a' }),
    ).rejects.toBeInstanceOf(InvalidInput);
  });
});

describe('kubernetes provider identities', () => {
  it('refuses system: users, names that are no user name, and protected users, before any call', async () => {
    const guarded = providerWith({ userPrefix: 'oidc:', protectedUsers: ['breakglass', 'oidc:Root'] });
    for (const identity of [
      'system:masters',
      'system:serviceaccount:kube-system:default',
      'SYSTEM:anonymous',
      'alice:admin',
      'alice bob',
      '',
      'kubernetes-admin',
    ]) {
      await expect(provider.checkIdentity?.(target(VIEW, { identity })), identity).rejects.toBeInstanceOf(
        InvalidInput,
      );
    }
    await expect(guarded.checkIdentity?.(target(VIEW, { identity: 'breakglass' }))).rejects.toThrow(
      /oidc:breakglass is a protected Kubernetes user/,
    );
    await expect(guarded.checkIdentity?.(target(VIEW, { identity: 'root' }))).rejects.toThrow(/protected/);
    await expect(provider.grant(target(VIEW, { identity: 'system:masters' }))).rejects.toThrow(
      /system name: the bot never binds roles to system: users/,
    );
    await expect(provider.probe?.(target(VIEW, { identity: 'system:anonymous' }))).rejects.toBeInstanceOf(
      InvalidInput,
    );
    expect(kube.calls).toEqual([]);

    await guarded.checkIdentity?.(target(VIEW, { identity: 'alice@corp.example' }));
    await provider.checkIdentity?.(target(VIEW, { identity: 'alice.smith' }));
  });

  it('names the subject with userPrefix, as the API server names OIDC users', async () => {
    const oidc = providerWith({ userPrefix: 'oidc:' });
    await oidc.grant(target());
    expect(roleBinding()?.subjects).toEqual([
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:alice' },
    ]);
    expect(await oidc.verify(target())).toBe(true);
    // Without the prefix it would be another user, who does not hold it.
    expect(await provider.verify(target())).toBe(false);
    await oidc.revoke(target());
    expect(roleBinding()).toBeUndefined();
  });
});

describe('kubernetes provider probe', () => {
  it('tells what a grant would create without writing anything, and refuses a missing role', async () => {
    const lines = (await provider.probe?.(target())) ?? [];
    expect(lines).toEqual([
      'subject: User "alice"',
      'ClusterRole "view": exists',
      'RoleBinding "jit-ab12cd" in namespace "team-a" → ClusterRole "view": would be created, marked app.kubernetes.io/managed-by=jit-bot',
    ]);
    await expect(provider.probe?.(target({ clusterRole: 'nope', namespace: 'team-a' }))).rejects.toThrow(
      /ClusterRole "nope" does not exist/,
    );
    await expect(
      provider.probe?.(target({ clusterRole: 'nope', namespace: 'team-a' })),
    ).rejects.toBeInstanceOf(InvalidInput);
    expect(kube.calls.length).toBeGreaterThan(0);
    expect(kube.writes()).toEqual([]);
    expect(kube.bindings('rolebindings')).toEqual([]);

    await provider.grant(target());
    const again = (await provider.probe?.(target())) ?? [];
    expect(again.at(-1)).toMatch(/already exists for this request \(the grant would change nothing\)/);
  });
});

describe('kubernetes provider failures', () => {
  it('a missing RBAC permission is refused for good, naming the permission', async () => {
    kube.deny('create', 'rolebindings');
    const create = await errorOf(provider.grant(target()));
    expect(create).toBeInstanceOf(InvalidInput);
    expect(create.message).toMatch(
      /needs the RBAC permission create on rolebindings \(apiGroup rbac\.authorization\.k8s\.io\) in namespace team-a/,
    );
    expect(create.message).toMatch(/403 Forbidden/);

    kube.reset();
    kube.addNamespace('team-a');
    kube.addClusterRole('view', RULES);
    kube.deny('bind', 'clusterroles');
    const bind = await errorOf(provider.grant(target()));
    expect(bind).toBeInstanceOf(InvalidInput);
    expect(bind.message).toMatch(/needs the RBAC verb bind on clusterroles "view"/);

    kube.deny('list', 'rolebindings');
    await expect(provider.listManaged?.()).rejects.toThrow(
      /needs the RBAC permission list on rolebindings .* cluster-wide/,
    );
    kube.deny('get', 'clusterroles');
    await expect(provider.probe?.(target())).rejects.toThrow(/needs the RBAC permission get on clusterroles/);
    expect(kube.bindings('rolebindings')).toEqual([]);
  });

  it('server errors and throttling are worth a retry', async () => {
    kube.failNext({ status: 503 });
    const unavailable = await errorOf(provider.grant(target()));
    expect(unavailable).toBeInstanceOf(ProviderUnavailable);
    expect(unavailable.message).toMatch(/503 ServiceUnavailable/);

    kube.failNext({ status: 429 });
    await expect(provider.verify(target())).rejects.toBeInstanceOf(ProviderUnavailable);
    await provider.grant(target());
    kube.failNext({ status: 500, times: 2 });
    await expect(provider.revoke(target())).rejects.toBeInstanceOf(ProviderUnavailable);
    await expect(provider.listManaged?.()).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(roleBinding()).toBeDefined();
    await provider.revoke(target());
    expect(roleBinding()).toBeUndefined();
  });

  it('an API server that cannot be reached or does not answer in time is worth a retry', async () => {
    const port = await closedPort();
    const nowhere = createKubernetesProvider({}, { kubeConfig: kubeConfig(`http://127.0.0.1:${port}`, 't') });
    const refused = await errorOf(nowhere.grant(target()));
    expect(refused).toBeInstanceOf(ProviderUnavailable);
    expect(refused.message).toMatch(/could not reach the Kubernetes API server .*ECONNREFUSED/);

    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port: silentPort } = silent.address() as AddressInfo;
      const slow = createKubernetesProvider(
        { timeoutMs: 200 },
        { kubeConfig: kubeConfig(`http://127.0.0.1:${silentPort}`, 't') },
      );
      const timedOut = await errorOf(slow.verify(target()));
      expect(timedOut).toBeInstanceOf(ProviderUnavailable);
      expect(timedOut.message).toMatch(/timed out/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a token the API server does not take is refused clearly, without the token', async () => {
    const secret = 'eyJhbGciOiJSUzI1NiJ9.wrong-token-do-not-log';
    const badToken = providerWith({}, secret);
    const error = await errorOf(badToken.grant(target()));
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toMatch(/did not accept the bot's credentials .*401 Unauthorized/);
    expect(`${error.message}\n${error.stack}`).not.toContain(secret);
    expect(kube.calls.map((call) => [call.authorization, call.status])).toEqual([[`Bearer ${secret}`, 401]]);
  });
});

describe('kubernetes policy blocks', () => {
  it('takes a clusterRole with or without a namespace, or a role with one', () => {
    expect(kubernetesGrantSchema.safeParse({ clusterRole: 'view' }).success).toBe(true);
    expect(
      kubernetesGrantSchema.safeParse({ clusterRole: 'system:aggregate-to-view', namespace: 'a' }).success,
    ).toBe(true);
    expect(kubernetesGrantSchema.safeParse({ role: 'deployer', namespace: 'team-a' }).success).toBe(true);
    const paths = (grant: unknown) =>
      kubernetesGrantSchema
        .safeParse(grant)
        .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(paths({ role: 'deployer' })).toEqual(['namespace: is required with role (a Role lives in one)']);
    expect(paths({ role: 'a', clusterRole: 'b', namespace: 'x' })).toEqual([
      'clusterRole: set exactly one of clusterRole and role',
    ]);
    expect(paths({ namespace: 'x' })).toEqual(['clusterRole: set exactly one of clusterRole and role']);
    expect(paths({ clusterRole: 'view', namespace: 'Team_A' })?.[0]).toMatch(
      /^namespace: must be a namespace/,
    );
    expect(paths({ clusterRole: 'view', verbs: ['get'] })?.[0]).toMatch(/verbs/);
  });

  it('validates the provider block: prefix, identities, and how the cluster is reached', async () => {
    const ok = kubernetesProviderConfigSchema.safeParse({
      type: 'kubernetes',
      kubeconfig: '/etc/jit-bot/kubeconfig',
      context: 'prod',
      userPrefix: 'oidc:',
      identities: { UALICE01: 'alice@corp.example' },
      protectedUsers: ['breakglass'],
    });
    expect(ok.success).toBe(true);
    const bad = kubernetesProviderConfigSchema.safeParse({
      type: 'kubernetes',
      userPrefix: 'system:',
      identities: { UALICE01: 'system:admin' },
      subjectKind: 'Group',
    });
    expect(bad.error?.issues.map((issue) => issue.path.join('.') || issue.code)).toEqual(
      expect.arrayContaining(['userPrefix', 'identities.UALICE01', 'unrecognized_keys']),
    );
    expect(() => createKubernetesProvider({ inCluster: true, kubeconfig: '/x' })).toThrow(InvalidInput);
    const unreadable = createKubernetesProvider({ kubeconfig: '/nonexistent/kubeconfig' });
    await expect(unreadable.verify(target())).rejects.toThrow(
      /cannot load the kubeconfig \/nonexistent\/kubeconfig \(ENOENT\)/,
    );
    const noContext = createKubernetesProvider(
      { context: 'elsewhere' },
      { kubeConfig: kubeConfig(kube.url, kube.token) },
    );
    await expect(noContext.verify(target())).rejects.toThrow(/no context "elsewhere"/);
  });
});

describe('the fake API server answers as Kubernetes does', () => {
  const post = (path: string, body: unknown, token = kube.token) =>
    fetch(`${kube.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const binding = (namespace?: string) => ({
    metadata: { name: 'b1', ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }],
  });
  const collection = (namespace: string) =>
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`;

  it('with Status objects for a missing namespace, a namespace mismatch, a duplicate and a bad token', async () => {
    const missing = await post(collection('ghost'), binding());
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      message: 'namespaces "ghost" not found',
      details: { kind: 'namespaces', name: 'ghost' },
      code: 404,
    });
    const mismatch = await post(collection('team-a'), binding('default'));
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ reason: 'BadRequest' });

    const created = await post(collection('team-a'), binding('team-a'));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      kind: 'RoleBinding',
      metadata: {
        name: 'b1',
        namespace: 'team-a',
        resourceVersion: expect.any(String),
        uid: expect.any(String),
      },
    });
    const duplicate = await post(collection('team-a'), binding());
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toMatchObject({ reason: 'AlreadyExists', code: 409 });

    const unauthorized = await post(collection('team-a'), binding(), 'wrong');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ reason: 'Unauthorized', code: 401 });
  });

  it('with 422 for an invalid binding and 400 for a selector it does not support', async () => {
    const invalid = await post(collection('team-a'), {
      ...binding(),
      metadata: { name: 'b2', labels: { 'jit-bot/expires-at': '2030-01-02T03:04:05Z' } },
    });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ reason: 'Invalid' });
    const selector = encodeURIComponent('team in (a,b)');
    const list = await fetch(
      `${kube.url}/apis/rbac.authorization.k8s.io/v1/rolebindings?labelSelector=${selector}`,
      {
        headers: { authorization: `Bearer ${kube.token}` },
      },
    );
    expect(list.status).toBe(400);
  });
});
