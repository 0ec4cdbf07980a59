import type {
  HttpLibrary,
  KubeConfig,
  RbacAuthorizationV1Api,
  V1ClusterRoleBinding,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { AppError, InvalidInput, ProviderUnavailable } from '../app/errors.js';
import type { GrantTarget, ManagedGrant, Provider } from '../app/provider.js';
import { isSystemConnectionError } from './connection-errors.js';

/**
 * Access as Kubernetes RBAC: granting creates one RoleBinding (a resource with a `namespace`) or
 * ClusterRoleBinding (without one) per request, binding the resource's Role or ClusterRole to the
 * requester as a `User` subject; revoking deletes it. The binding is named after the request
 * (`JIT-AB12CD` → `jit-ab12cd`) and carries the bot's mark: the labels
 * `app.kubernetes.io/managed-by: jit-bot`, `jit-bot/request: jit-ab12cd` and `jit-bot/expires:
 * <epoch seconds>`, and the annotations `jit-bot/request-id: JIT-AB12CD` and `jit-bot/expires-at:
 * <ISO time>` (labels cannot hold the exact id or an ISO time). A binding of that name that is
 * not the bot's for this request is never overwritten or deleted, and does not verify as held.
 *
 * The subject's name is `userPrefix` + identity, as the API server names the user
 * (`--oidc-username-prefix`); identities that would name a system user (`system:…`), anything
 * that does not look like a person's user name, and `protectedUsers` are refused.
 *
 * Expiry: Kubernetes has no TTL for RBAC objects, nothing on the cluster ever ends a binding on
 * its own. While the bot is down, a binding due to end stays (and grants access) until the bot is
 * back and the overdue expiry, or the drift check of marked bindings, deletes it; the expiry
 * annotation and label let an out-of-band job find overdue ones meanwhile (`kubectl get
 * rolebindings,clusterrolebindings -A -l app.kubernetes.io/managed-by=jit-bot`). They record the
 * expiry as of the grant: an extension moves the end in the bot's database only, so such a job
 * must allow for extensions before it deletes anything. RBAC is checked per API request, so a
 * deleted binding refuses the next request at once, but a stream opened while it held (`kubectl
 * exec`, `attach`, `port-forward`, a watch) is not cut by the deletion.
 *
 * Least-privilege RBAC for the bot's service account. RBAC escalation prevention lets a binding
 * be created only by someone who holds every permission in the bound role or who may `bind` that
 * role, so the bot gets `bind` on exactly the roles it hands out, nothing wider:
 *
 *     apiVersion: rbac.authorization.k8s.io/v1
 *     kind: ClusterRole
 *     metadata: { name: jit-bot }
 *     rules:
 *       - apiGroups: [rbac.authorization.k8s.io]
 *         resources: [rolebindings, clusterrolebindings]
 *         verbs: [create, get, delete, list]
 *       - apiGroups: [rbac.authorization.k8s.io]
 *         resources: [roles, clusterroles]
 *         verbs: [get]
 *       - apiGroups: [rbac.authorization.k8s.io]
 *         resources: [clusterroles]
 *         verbs: [bind]
 *         resourceNames: [view, edit]   # every clusterRole a resource names
 *       - apiGroups: [rbac.authorization.k8s.io]
 *         resources: [roles]
 *         verbs: [bind]
 *         resourceNames: [deployer]     # every (namespaced) role a resource names
 *     ---
 *     apiVersion: rbac.authorization.k8s.io/v1
 *     kind: ClusterRoleBinding
 *     metadata: { name: jit-bot }
 *     roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: jit-bot }
 *     subjects: [{ kind: ServiceAccount, name: jit-bot, namespace: jit-bot }]
 *
 * `list` is needed cluster-wide (drift lists marked bindings in all namespaces); `create` on
 * clusterrolebindings only when a resource has no namespace. Never give the bot `escalate`,
 * `impersonate` or `bind` without `resourceNames`. A refusal names the permission that is missing.
 */

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const MANAGER = 'jit-bot';
const REQUEST_LABEL = 'jit-bot/request';
const EXPIRES_LABEL = 'jit-bot/expires';
const REQUEST_ANNOTATION = 'jit-bot/request-id';
const EXPIRES_ANNOTATION = 'jit-bot/expires-at';

/** Plausible user names: letters, digits and `. _ @ + -`, so no `:` and no `system:` name. */
const USER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._@+-]{0,251}[A-Za-z0-9])?$/;
const userNameSchema = z
  .string()
  .regex(USER_NAME, 'must be a Kubernetes user name (letters, digits and . _ @ + -, no colon)');

/** Names of users that hold cluster-admin out of the box: never a grant's subject. */
const BUILT_IN_PROTECTED: ReadonlySet<string> = new Set([
  // kubeadm's admin.conf user.
  'kubernetes-admin',
]);

/** Role and ClusterRole names as the RBAC API takes them (ClusterRoles may hold colons). */
const roleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?$/, 'must be a Role or ClusterRole name');
const namespaceSchema = z
  .string()
  .regex(/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name (a DNS-1123 label)');

/** The provider's block under `providers:` in the policy file. */
export const kubernetesProviderConfigSchema = z.strictObject({
  type: z.literal('kubernetes'),
  /** Path of the kubeconfig file; without it and without `inCluster`, the default loading rules. */
  kubeconfig: z.string().min(1).optional(),
  /** The kubeconfig context to use; its current context by default. */
  context: z.string().min(1).optional(),
  /** Use the pod's service account (the bot runs in the cluster it grants on). */
  inCluster: z.boolean().optional(),
  /** Prepended to the identity to form the subject's name, as `--oidc-username-prefix` does. */
  userPrefix: z
    .string()
    .regex(
      /^(?!system:)[A-Za-z0-9][A-Za-z0-9._@+:/#-]{0,62}$/,
      'must be a user name prefix like oidc: (not system:)',
    )
    .optional(),
  /** Slack user id → Kubernetes user name (without `userPrefix`). */
  identities: z.record(z.string(), userNameSchema).optional(),
  /** User names nobody is ever granted to through the bot (with or without the prefix; any case). */
  protectedUsers: z.array(z.string().min(1)).optional(),
  /** How long to wait for one answer of the API server; 10 s by default. */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});
export type KubernetesProviderConfig = z.infer<typeof kubernetesProviderConfigSchema>;

/**
 * A resource's `grant:` block: a `clusterRole` bound in one `namespace` (a RoleBinding) or
 * cluster-wide (a ClusterRoleBinding, without `namespace`), or a `role` of a `namespace`.
 */
export const kubernetesGrantSchema = z
  .strictObject({
    clusterRole: roleNameSchema.optional(),
    role: roleNameSchema.optional(),
    namespace: namespaceSchema.optional(),
  })
  .superRefine((grant, ctx) => {
    if ((grant.clusterRole === undefined) === (grant.role === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusterRole'],
        message: 'set exactly one of clusterRole and role',
      });
    } else if (grant.role !== undefined && grant.namespace === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['namespace'],
        message: 'is required with role (a Role lives in one)',
      });
    }
  });
export type KubernetesGrant = z.infer<typeof kubernetesGrantSchema>;

export interface KubernetesProviderOptions {
  /** A ready configuration instead of loading one (tests: `loadFromOptions` against a fake). */
  kubeConfig?: KubeConfig;
}

type KubernetesSettings = Omit<z.input<typeof kubernetesProviderConfigSchema>, 'type' | 'identities'>;

type Binding = V1RoleBinding | V1ClusterRoleBinding;

/** Which binding a grant is, and what it binds to whom. */
interface BindingPlan {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  /** The RoleBinding's namespace; undefined for a ClusterRoleBinding. */
  namespace: string | undefined;
  roleRef: { apiGroup: string; kind: 'Role' | 'ClusterRole'; name: string };
  subject: { kind: 'User'; apiGroup: string; name: string };
}

/** The RBAC permission a call needs, named when the API server refuses it. */
interface Need {
  verb: 'create' | 'get' | 'delete' | 'list';
  resource: 'rolebindings' | 'clusterrolebindings' | 'roles' | 'clusterroles';
  namespace?: string | undefined;
  what: string;
  /** For a create: the role whose `bind` the escalation check wants. */
  binds?: BindingPlan['roleRef'] & { namespace?: string | undefined };
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function createKubernetesProvider(
  config: KubernetesSettings,
  options: KubernetesProviderOptions = {},
): Provider {
  if (config.inCluster && (config.kubeconfig !== undefined || config.context !== undefined)) {
    throw new InvalidInput('kubernetes provider: inCluster: true takes no kubeconfig or context');
  }
  const userPrefix = config.userPrefix ?? '';
  if (userPrefix.startsWith('system:')) {
    throw new InvalidInput('kubernetes provider: userPrefix must not start with system:');
  }
  const protectedUsers = new Set((config.protectedUsers ?? []).map((user) => user.toLowerCase()));
  const rbac = lazyApi(config, options);

  /** The subject's name for an identity fit to be granted to; refuses the unfit ones. */
  function fitSubjectName(identity: string): string {
    if (identity.toLowerCase().startsWith('system:')) {
      throw new InvalidInput(
        `${JSON.stringify(identity)} is a Kubernetes system name: the bot never binds roles to system: users`,
      );
    }
    if (!USER_NAME.test(identity)) {
      throw new InvalidInput(
        `${JSON.stringify(identity)} is not a Kubernetes user name the bot grants to (letters, digits and . _ @ + -): map the user in the provider's identities`,
      );
    }
    const name = `${userPrefix}${identity}`;
    const lower = name.toLowerCase();
    if (
      BUILT_IN_PROTECTED.has(lower) ||
      protectedUsers.has(lower) ||
      protectedUsers.has(identity.toLowerCase())
    ) {
      throw new InvalidInput(`${name} is a protected Kubernetes user: the bot never grants to it`);
    }
    return name;
  }

  function planOf(target: GrantTarget, subjectName: string): BindingPlan {
    const parsed = kubernetesGrantSchema.safeParse(target.grant);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidInput(
        `grant block: ${issue?.path.join('.') || 'grant'} ${issue?.message ?? 'is not valid'}`,
      );
    }
    const { clusterRole, role, namespace } = parsed.data;
    const roleName = role ?? clusterRole ?? '';
    return {
      kind: namespace === undefined ? 'ClusterRoleBinding' : 'RoleBinding',
      name: bindingNameOf(target.requestId),
      namespace,
      roleRef: { apiGroup: RBAC_GROUP, kind: role === undefined ? 'ClusterRole' : 'Role', name: roleName },
      subject: { kind: 'User', apiGroup: RBAC_GROUP, name: subjectName },
    };
  }

  /** The plan of a grant to be made: the identity must be fit. */
  const grantPlanOf = (target: GrantTarget) => planOf(target, fitSubjectName(target.identity));
  /** The plan of a grant that may exist: revoke and verify never refuse an identity. */
  const heldPlanOf = (target: GrantTarget) => planOf(target, `${userPrefix}${target.identity}`);

  async function readBinding(plan: BindingPlan): Promise<Binding | null> {
    const { name, namespace } = plan;
    return kube(needOf(plan, 'get', `read ${describeBinding(plan)}`), async () => {
      const api = await rbac();
      try {
        return namespace === undefined
          ? await api.readClusterRoleBinding({ name })
          : await api.readNamespacedRoleBinding({ name, namespace });
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
  }

  async function roleExists(plan: BindingPlan): Promise<boolean> {
    const { roleRef, namespace } = plan;
    const isRole = roleRef.kind === 'Role';
    const need: Need = {
      verb: 'get',
      resource: isRole ? 'roles' : 'clusterroles',
      namespace: isRole ? namespace : undefined,
      what: `read ${describeRole(plan)}`,
    };
    return kube(need, async () => {
      const api = await rbac();
      try {
        if (isRole) await api.readNamespacedRole({ name: roleRef.name, namespace: namespace ?? '' });
        else await api.readClusterRole({ name: roleRef.name });
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    });
  }

  async function expectRole(plan: BindingPlan): Promise<void> {
    if (!(await roleExists(plan))) {
      throw new InvalidInput(
        `${describeRole(plan)} does not exist: create it or fix the resource's grant block`,
      );
    }
  }

  /** Creates the binding; false when one of that name exists already. */
  async function createBinding(plan: BindingPlan, target: GrantTarget): Promise<boolean> {
    const body = bindingBodyOf(plan, target);
    const need = {
      ...needOf(plan, 'create', `create ${describeBinding(plan)}`),
      binds: { ...plan.roleRef, namespace: plan.namespace },
    };
    return kube(need, async () => {
      const api = await rbac();
      try {
        if (plan.namespace === undefined) await api.createClusterRoleBinding({ body });
        else await api.createNamespacedRoleBinding({ namespace: plan.namespace, body });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 && kubeStatusOf(error).reason === 'AlreadyExists') return false;
        if (status === 404 && kubeStatusOf(error).details?.kind === 'namespaces') {
          throw new InvalidInput(`namespace "${plan.namespace}" does not exist on the cluster`);
        }
        throw error;
      }
    });
  }

  /** Deletes a binding; one that is gone is deleted. `uid` guards against a replaced object. */
  async function deleteBinding(
    found: { name: string; namespace: string | undefined },
    what: string,
    uid?: string,
  ): Promise<void> {
    const { name, namespace } = found;
    const body = uid === undefined ? undefined : { preconditions: { uid } };
    const need: Need = {
      verb: 'delete',
      resource: namespace === undefined ? 'clusterrolebindings' : 'rolebindings',
      namespace,
      what,
    };
    await kube(need, async () => {
      const api = await rbac();
      try {
        if (namespace === undefined) await api.deleteClusterRoleBinding({ name, body });
        else await api.deleteNamespacedRoleBinding({ name, namespace, body });
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return;
        if (status === 409) {
          throw new ProviderUnavailable(`${what}: the binding was replaced meanwhile; retry`);
        }
        throw error;
      }
    });
  }

  return {
    type: 'kubernetes',

    async checkIdentity(target) {
      fitSubjectName(target.identity);
    },

    async grant(target) {
      const plan = grantPlanOf(target);
      // A binding to a role that does not exist grants nothing now, and all of it the moment
      // someone creates a role of that name: refused rather than left waiting.
      await expectRole(plan);
      if (await createBinding(plan, target)) return;
      const existing = await readBinding(plan);
      if (existing === null) {
        throw new ProviderUnavailable(`${describeBinding(plan)} was deleted while being granted; retry`);
      }
      if (isMarkedFor(existing, target.requestId) && grantsSameAccess(existing, plan)) return;
      throw new InvalidInput(
        `${describeBinding(plan)} already exists and is not this grant's: the bot never overwrites it; delete or rename it`,
      );
    },

    async revoke(target) {
      const plan = heldPlanOf(target);
      const existing = await readBinding(plan);
      // A binding of that name that this grant did not make (the grant refused it) is not this
      // grant's to take back; a cleanup revoke of that refused grant must not retry forever.
      if (existing === null || !isMarkedFor(existing, target.requestId)) return;
      await deleteBinding(plan, `delete ${describeBinding(plan)}`, existing.metadata?.uid);
    },

    async verify(target) {
      const plan = heldPlanOf(target);
      const existing = await readBinding(plan);
      // Only the grant's own binding counts: drift revokes what verifies, and revoke leaves
      // alone a binding this grant did not make.
      return existing !== null && isMarkedFor(existing, target.requestId) && grantsSameAccess(existing, plan);
    },

    async probe(target) {
      const plan = grantPlanOf(target);
      await expectRole(plan);
      const existing = await readBinding(plan);
      const lines = [
        `subject: User "${plan.subject.name}"${userPrefix ? ` (userPrefix ${userPrefix} + identity)` : ''}`,
        `${describeRole(plan)}: exists`,
      ];
      const binding = `${describeBinding(plan)} → ${describeRole(plan)}`;
      if (existing === null) {
        lines.push(`${binding}: would be created, marked ${MANAGED_BY}=${MANAGER}`);
      } else if (isMarkedFor(existing, target.requestId) && grantsSameAccess(existing, plan)) {
        lines.push(`${binding}: already exists for this request (the grant would change nothing)`);
      } else {
        throw new InvalidInput(
          `${describeBinding(plan)} already exists and is not this grant's: the grant would refuse to overwrite it`,
        );
      }
      return lines;
    },

    async listManaged() {
      const labelSelector = `${MANAGED_BY}=${MANAGER}`;
      const namespaced = await kube(
        { verb: 'list', resource: 'rolebindings', what: 'list marked RoleBindings in all namespaces' },
        async () => (await rbac()).listRoleBindingForAllNamespaces({ labelSelector }),
      );
      const clusterWide = await kube(
        { verb: 'list', resource: 'clusterrolebindings', what: 'list marked ClusterRoleBindings' },
        async () => (await rbac()).listClusterRoleBinding({ labelSelector }),
      );
      return [
        ...namespaced.items.flatMap((binding) => managedGrantOf(binding, 'RoleBinding')),
        ...clusterWide.items.flatMap((binding) => managedGrantOf(binding, 'ClusterRoleBinding')),
      ];
    },

    async removeManaged(grant) {
      const found = parseRef(grant.ref);
      await deleteBinding(found, `delete ${grant.ref}`);
    },

    async close() {
      rbac.close();
    },
  };
}

/** `JIT-AB12CD` → `jit-ab12cd`: a DNS-1123 name, and a valid label value. */
function bindingNameOf(requestId: string): string {
  const name = requestId.toLowerCase();
  if (!/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    throw new InvalidInput(`request id ${JSON.stringify(requestId)} cannot name a Kubernetes binding`);
  }
  return name;
}

function bindingBodyOf(plan: BindingPlan, target: GrantTarget): Binding {
  const expires = target.expiresAt.getTime();
  if (!Number.isFinite(expires)) throw new InvalidInput('the grant has no valid expiry');
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: plan.kind,
    metadata: {
      name: plan.name,
      ...(plan.namespace === undefined ? {} : { namespace: plan.namespace }),
      labels: {
        [MANAGED_BY]: MANAGER,
        [REQUEST_LABEL]: plan.name,
        [EXPIRES_LABEL]: String(Math.floor(expires / 1000)),
      },
      annotations: {
        [REQUEST_ANNOTATION]: target.requestId,
        [EXPIRES_ANNOTATION]: target.expiresAt.toISOString(),
      },
    },
    roleRef: { ...plan.roleRef },
    subjects: [{ ...plan.subject }],
  };
}

function isMarkedFor(binding: Binding, requestId: string): boolean {
  const { labels, annotations } = binding.metadata ?? {};
  return labels?.[MANAGED_BY] === MANAGER && annotations?.[REQUEST_ANNOTATION] === requestId;
}

/** The binding binds the planned role to the planned user (other subjects aside). */
function grantsSameAccess(binding: Binding, plan: BindingPlan): boolean {
  const { roleRef } = binding;
  if (roleRef?.apiGroup !== RBAC_GROUP || roleRef.kind !== plan.roleRef.kind) return false;
  if (roleRef.name !== plan.roleRef.name) return false;
  return (binding.subjects ?? []).some(
    (subject) =>
      subject.kind === 'User' &&
      subject.name === plan.subject.name &&
      (subject.apiGroup ?? RBAC_GROUP) === RBAC_GROUP &&
      !subject.namespace,
  );
}

function managedGrantOf(binding: Binding, kind: BindingPlan['kind']): ManagedGrant[] {
  const { name, namespace, labels, annotations } = binding.metadata ?? {};
  if (!name || (kind === 'RoleBinding' && !namespace)) return [];
  const ref = kind === 'RoleBinding' ? `rolebinding/${namespace}/${name}` : `clusterrolebinding/${name}`;
  // A copy of a marked object names no request of ours: drift removes it as unknown.
  const requestId = annotations?.[REQUEST_ANNOTATION] ?? labels?.[REQUEST_LABEL]?.toUpperCase() ?? 'unknown';
  return [{ requestId, expiresAt: expiryOf(annotations, labels), ref }];
}

function expiryOf(
  annotations: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): Date | null {
  const iso = annotations?.[EXPIRES_ANNOTATION];
  if (iso !== undefined && !Number.isNaN(Date.parse(iso))) return new Date(iso);
  const seconds = labels?.[EXPIRES_LABEL];
  if (seconds !== undefined && /^\d{1,12}$/.test(seconds)) return new Date(Number(seconds) * 1000);
  return null;
}

/** `rolebinding/<namespace>/<name>` or `clusterrolebinding/<name>`, as `listManaged` names them. */
function parseRef(ref: string): { name: string; namespace: string | undefined } {
  const namespaced = /^rolebinding\/([^/]+)\/([^/]+)$/.exec(ref);
  if (namespaced) return { namespace: namespaced[1], name: namespaced[2] ?? '' };
  const clusterWide = /^clusterrolebinding\/([^/]+)$/.exec(ref);
  if (clusterWide) return { namespace: undefined, name: clusterWide[1] ?? '' };
  throw new InvalidInput(`${JSON.stringify(ref)} does not name a Kubernetes binding`);
}

function describeBinding(plan: Pick<BindingPlan, 'kind' | 'name' | 'namespace'>): string {
  return plan.namespace === undefined
    ? `ClusterRoleBinding "${plan.name}"`
    : `RoleBinding "${plan.name}" in namespace "${plan.namespace}"`;
}

function describeRole(plan: Pick<BindingPlan, 'roleRef' | 'namespace'>): string {
  return plan.roleRef.kind === 'Role'
    ? `Role "${plan.roleRef.name}" in namespace "${plan.namespace}"`
    : `ClusterRole "${plan.roleRef.name}"`;
}

function needOf(plan: BindingPlan, verb: Need['verb'], what: string): Need {
  return {
    verb,
    resource: plan.namespace === undefined ? 'clusterrolebindings' : 'rolebindings',
    namespace: plan.namespace,
    what,
  };
}

/**
 * The RBAC API client, built on first use: a bot with no Kubernetes resource never loads the
 * client, and a kubeconfig that cannot be read is reported by the first grant, not at start.
 */
function lazyApi(config: KubernetesSettings, options: KubernetesProviderOptions) {
  let loaded: Promise<RbacAuthorizationV1Api> | undefined;
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const load = async (): Promise<RbacAuthorizationV1Api> => {
    const k8s = await import('@kubernetes/client-node');
    const kc = options.kubeConfig ?? loadKubeConfig(new k8s.KubeConfig(), config);
    if (config.context !== undefined) {
      if (!kc.getContextObject(config.context)) {
        throw new InvalidInput(`kubernetes provider: the kubeconfig has no context "${config.context}"`);
      }
      kc.setCurrentContext(config.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new InvalidInput('kubernetes provider: the kubeconfig names no current cluster');
    // Every request gets its own deadline: the generated client has no timeout of its own.
    const fetchLibrary = new k8s.IsomorphicFetchHttpLibrary();
    const httpApi: HttpLibrary = {
      send(request) {
        request.setSignal(AbortSignal.timeout(timeoutMs));
        return fetchLibrary.send(request);
      },
    };
    return new k8s.RbacAuthorizationV1Api(
      k8s.createConfiguration({
        baseServer: new k8s.ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        httpApi,
      }),
    );
  };
  const api = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return Object.assign(api, {
    close() {
      loaded = undefined;
    },
  });
}

function loadKubeConfig(kc: KubeConfig, config: KubernetesSettings): KubeConfig {
  if (config.inCluster) {
    if (!process.env.KUBERNETES_SERVICE_HOST) {
      throw new InvalidInput(
        'kubernetes provider: inCluster is set but the bot does not run in a pod (no KUBERNETES_SERVICE_HOST)',
      );
    }
    kc.loadFromCluster();
    return kc;
  }
  try {
    if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidInput(
      `kubernetes provider: cannot load the kubeconfig${config.kubeconfig ? ` ${config.kubeconfig}` : ''} (${reason})`,
    );
  }
  return kc;
}

async function kube<T>(need: Need, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toProviderError(need, error);
  }
}

interface KubeStatus {
  reason?: string | undefined;
  message?: string | undefined;
  details?: { kind?: string | undefined } | undefined;
}

/** The HTTP status of an `ApiException`; a network failure (`FetchError`) has a string code. */
function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'number' ? code : undefined;
}

/** The API server's Status object, which the client hands over as text. */
function kubeStatusOf(error: unknown): KubeStatus {
  let body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return { message: text };
    }
  }
  if (body === null || typeof body !== 'object') return {};
  const { reason, message, details } = body as Record<string, unknown>;
  const kind = (details as { kind?: unknown } | undefined)?.kind;
  return {
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof message === 'string' ? message : undefined,
    details: typeof kind === 'string' ? { kind } : undefined,
  };
}

/**
 * Throttling (429), server errors, a conflicting write and a server that cannot be reached or
 * does not answer in time are retried; a refused credential, a missing permission or a refused
 * object say what to fix.
 */
function toProviderError(need: Need, error: unknown): Error {
  if (error instanceof AppError) return error;
  const status = statusOf(error);
  if (status === undefined) {
    const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
    if (isSystemConnectionError(error) || name === 'FetchError' || name === 'AbortError') {
      const why = typeof code === 'string' ? code : name === 'AbortError' ? 'timed out' : 'network error';
      return new ProviderUnavailable(
        `could not reach the Kubernetes API server to ${need.what} (${why}); retry later`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
  const { reason, message } = kubeStatusOf(error);
  const said = `${status}${reason ? ` ${reason}` : ''}${message ? `: ${clean(message)}` : ''}`;
  if (status === 401) {
    return new InvalidInput(
      `the Kubernetes API server did not accept the bot's credentials to ${need.what} (401 Unauthorized): check the kubeconfig user's token or certificate, or the service account token`,
    );
  }
  if (status === 403) {
    if (need.binds && /attempting to grant RBAC permissions not currently held/i.test(message ?? '')) {
      const { kind, name, namespace } = need.binds;
      const where = kind === 'Role' ? ` in namespace ${namespace}` : '';
      return new InvalidInput(
        `Kubernetes refused to ${need.what} (${said}): the bot's service account needs the RBAC verb bind on ${kind === 'Role' ? 'roles' : 'clusterroles'} "${name}"${where} (apiGroup ${RBAC_GROUP}, resourceNames: [${name}])`,
      );
    }
    const scope = need.namespace === undefined ? 'cluster-wide' : `in namespace ${need.namespace}`;
    return new InvalidInput(
      `Kubernetes refused to ${need.what} (${said}): the bot's service account needs the RBAC permission ${need.verb} on ${need.resource} (apiGroup ${RBAC_GROUP}) ${scope}`,
    );
  }
  if (status === 408 || status === 429 || status >= 500 || (status === 409 && reason === 'Conflict')) {
    return new ProviderUnavailable(`Kubernetes could not ${need.what} for now (${said}); retry later`);
  }
  return new InvalidInput(`Kubernetes refused to ${need.what} (${said})`);
}

/** The API server's own text, on one line and kept short. */
function clean(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
