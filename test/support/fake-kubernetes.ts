import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson } from './read-json.js';

/**
 * A real HTTP server speaking the part of the Kubernetes REST API the kubernetes provider uses:
 * RoleBindings (per namespace, and listed across all namespaces), ClusterRoleBindings, and GET of
 * Roles and ClusterRoles, under /apis/rbac.authorization.k8s.io/v1. As the API server does, it
 * authenticates the bearer token (401), authorizes each verb (403, with the API server's wording,
 * including the escalation check's refusal when `bind` is denied), sets uid, resourceVersion and
 * creationTimestamp, answers errors with `Status` objects (AlreadyExists, NotFound, Forbidden,
 * Unauthorized, BadRequest, Invalid, Conflict), refuses a create in a namespace that does not
 * exist or whose body names another namespace, validates names, labels and roleRefs, filters
 * lists by equality and existence label selectors, and honours a DELETE's uid precondition.
 *
 * Not covered: watches, paging (`limit`/`continue`), field selectors, set-based selectors (`in`,
 * `notin`, answered 400), PUT and PATCH (405), server-side apply, dry runs, managedFields, the
 * role-contents half of escalation prevention (the fake's user holds no permissions of its own:
 * a binding is allowed by `bind` alone), and garbage collection of bindings in deleted namespaces.
 * Records every call; tests change the state directly to act behind the bot's back.
 */

const GROUP = 'rbac.authorization.k8s.io';
const API_VERSION = `${GROUP}/v1`;
const PREFIX = `/apis/${GROUP}/v1`;

export type BindingResource = 'rolebindings' | 'clusterrolebindings';
export type Resource = BindingResource | 'roles' | 'clusterroles';
export type Verb = 'get' | 'list' | 'create' | 'delete' | 'bind';

export interface FakeKubernetesCall {
  method: string;
  path: string;
  /** The query string, decoded. */
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

export interface FakeKubernetesFault {
  status: 429 | 500 | 503;
  /** How many consecutive calls fail; 1 by default. */
  times?: number;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** An object as the fake stores it: JSON, with the server-set metadata filled in. */
export type KubeObject = Record<string, unknown> & {
  metadata: Record<string, unknown> & {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
  };
};

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const KINDS: Record<Resource, string> = {
  rolebindings: 'RoleBinding',
  clusterrolebindings: 'ClusterRoleBinding',
  roles: 'Role',
  clusterroles: 'ClusterRole',
};

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'AlreadyExists',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Label and annotation keys: an optional DNS subdomain prefix and a name of up to 63 characters. */
const QUALIFIED_NAME =
  /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export class FakeKubernetes {
  readonly calls: FakeKubernetesCall[] = [];
  /** The API server URL to configure as the kubeconfig cluster's `server`. */
  readonly url: string;
  /** Who the token authenticates as, for the API server's wording of refusals. */
  readonly user = 'system:serviceaccount:jit-bot:jit-bot';
  private namespaces = new Set<string>();
  private objects = new Map<string, KubeObject>();
  private denied = new Set<string>();
  private fault: { status: number; times: number } | undefined;
  private revision = 1000;

  constructor(
    private readonly server: Server,
    readonly token: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.reset();
  }

  /** Back to a fresh cluster: namespaces default and kube-system, no roles, bindings or faults. */
  reset(): void {
    this.calls.length = 0;
    this.namespaces = new Set(['default', 'kube-system']);
    this.objects.clear();
    this.denied.clear();
    this.fault = undefined;
  }

  addNamespace(name: string): void {
    this.namespaces.add(name);
  }

  addClusterRole(name: string, rules: PolicyRule[] = []): void {
    this.store('clusterroles', undefined, { metadata: { name }, rules });
  }

  addRole(namespace: string, name: string, rules: PolicyRule[] = []): void {
    this.namespaces.add(namespace);
    this.store('roles', namespace, { metadata: { name, namespace }, rules });
  }

  removeClusterRole(name: string): void {
    this.objects.delete(keyOf('clusterroles', undefined, name));
  }

  /** The binding as stored, or undefined. */
  binding(resource: BindingResource, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(resource, namespace, name));
  }

  bindings(resource: BindingResource): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${resource}/`))
      .map(([, object]) => object);
  }

  /** Creates a binding the way `kubectl apply` by someone else would: no call is recorded. */
  putBinding(
    resource: BindingResource,
    namespace: string | undefined,
    object: Record<string, unknown>,
  ): KubeObject {
    if (namespace !== undefined) this.namespaces.add(namespace);
    return this.store(resource, namespace, object);
  }

  /** Deletes a binding behind the bot's back; true when there was one. */
  deleteBinding(resource: BindingResource, namespace: string | undefined, name: string): boolean {
    return this.objects.delete(keyOf(resource, namespace, name));
  }

  /** Changes a stored binding in place (a new resourceVersion), as an edit by someone else. */
  editBinding(
    resource: BindingResource,
    namespace: string | undefined,
    name: string,
    edit: (object: KubeObject) => void,
  ): void {
    const object = this.binding(resource, namespace, name);
    if (!object) throw new Error(`no ${resource} ${namespace ?? ''}/${name}`);
    edit(object);
    object.metadata.resourceVersion = String(++this.revision);
  }

  /** Refuses the verb on the resource to the bot's token (403), as a missing RBAC rule would. */
  deny(verb: Verb, resource: Resource): void {
    this.denied.add(`${verb} ${resource}`);
  }

  /** Makes the next `times` calls (after authentication) answer with this status. */
  failNext(fault: FakeKubernetesFault): void {
    this.fault = { status: fault.status, times: fault.times ?? 1 };
  }

  /** Calls that would change something on a real cluster. */
  writes(): FakeKubernetesCall[] {
    return this.calls.filter((call) => call.method !== 'GET');
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** @internal */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const answer = this.answer(method, url.pathname, query, req.headers.authorization, body);
    this.calls.push({
      method,
      path: url.pathname,
      query,
      authorization: req.headers.authorization,
      body,
      status: answer.status,
    });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  }

  private answer(
    method: string,
    path: string,
    query: Record<string, string>,
    authorization: string | undefined,
    body: unknown,
  ): Answer {
    if (authorization !== `Bearer ${this.token}`) return failure(401, 'Unauthorized');
    if (this.fault && this.fault.times > 0) {
      this.fault.times -= 1;
      const { status } = this.fault;
      const message =
        status === 429
          ? 'Too many requests, please try again later.'
          : 'the server is currently unable to handle the request';
      return { ...failure(status, message), headers: status === 429 ? { 'retry-after': '1' } : {} };
    }
    const route = routeOf(path);
    if (!route) return failure(404, 'the server could not find the requested resource');
    const { resource, namespace, name } = route;
    const verb = verbOf(method, name);
    if (verb === undefined) {
      return failure(405, `the server does not allow this method on the requested resource`);
    }
    if ((resource === 'roles' || resource === 'clusterroles') && verb !== 'get') {
      return failure(405, 'the fake serves only GET of roles and clusterroles');
    }
    if (this.denied.has(`${verb} ${resource}`)) return this.forbidden(verb, resource, namespace, name);
    if (namespace !== undefined && !NAMESPACE.test(namespace)) {
      return failure(404, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    if (verb === 'list') return this.list(resource, namespace, query);
    if (verb === 'create') return this.create(resource as BindingResource, namespace, body);
    const key = keyOf(resource, namespace, name ?? '');
    const object = this.objects.get(key);
    const notFound = failure(404, `${resource}.${GROUP} "${name}" not found`, {
      name,
      group: GROUP,
      kind: resource,
    });
    if (!object) return notFound;
    if (verb === 'get') return { status: 200, body: withType(resource, object) };
    const uid = (body as { preconditions?: { uid?: unknown } } | undefined)?.preconditions?.uid;
    if (uid !== undefined && uid !== object.metadata.uid) {
      return failure(
        409,
        `Operation cannot be fulfilled on ${resource}.${GROUP} "${name}": Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${object.metadata.uid}`,
        { name, group: GROUP, kind: resource },
        'Conflict',
      );
    }
    this.objects.delete(key);
    return {
      status: 200,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: GROUP, kind: resource, uid: object.metadata.uid },
      },
    };
  }

  private list(resource: Resource, namespace: string | undefined, query: Record<string, string>): Answer {
    const selector = parseSelector(query.labelSelector ?? '');
    if (typeof selector === 'string') return failure(400, `unable to parse requirement: ${selector}`);
    const items = [...this.objects.entries()]
      .filter(([key]) =>
        key.startsWith(namespace === undefined ? `${resource}/` : `${resource}/${namespace}/`),
      )
      .map(([, object]) => object)
      .filter((object) => selector.every((matches) => matches(object.metadata.labels ?? {})));
    return {
      status: 200,
      body: {
        kind: `${KINDS[resource]}List`,
        apiVersion: API_VERSION,
        metadata: { resourceVersion: String(this.revision) },
        // As from the API server: list items carry no kind and apiVersion of their own.
        items,
      },
    };
  }

  private create(resource: BindingResource, namespace: string | undefined, body: unknown): Answer {
    const kind = KINDS[resource];
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return failure(400, `the body of the request was in an unknown format`);
    }
    const object = body as Record<string, unknown>;
    if (object.apiVersion !== undefined && object.apiVersion !== API_VERSION) {
      return failure(
        400,
        `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${API_VERSION})`,
      );
    }
    if (object.kind !== undefined && object.kind !== kind) {
      return failure(
        400,
        `the kind in the data (${String(object.kind)}) does not match the expected kind (${kind})`,
      );
    }
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      return failure(
        400,
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const problems = validateBinding(resource, object);
    if (problems.length > 0) {
      return failure(422, `${kind}.${GROUP} "${name}" is invalid: ${problems.join(', ')}`, {
        name,
        group: GROUP,
        kind,
      });
    }
    if (namespace !== undefined && !this.namespaces.has(namespace)) {
      return failure(404, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    const roleRef = object.roleRef as { kind: string; name: string };
    const bindResource = roleRef.kind === 'Role' ? 'roles' : 'clusterroles';
    if (this.denied.has(`bind ${bindResource}`)) {
      return failure(
        403,
        `${resource}.${GROUP} "${name}" is forbidden: user "${this.user}" (groups=["system:serviceaccounts" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n${this.rulesText(roleRef, namespace)}`,
        { name, group: GROUP, kind: resource },
      );
    }
    if (this.objects.has(keyOf(resource, namespace, name))) {
      return failure(409, `${resource}.${GROUP} "${name}" already exists`, {
        name,
        group: GROUP,
        kind: resource,
      });
    }
    return { status: 201, body: withType(resource, this.store(resource, namespace, object)) };
  }

  private rulesText(roleRef: { kind: string; name: string }, namespace: string | undefined): string {
    const role = this.objects.get(
      roleRef.kind === 'Role'
        ? keyOf('roles', namespace, roleRef.name)
        : keyOf('clusterroles', undefined, roleRef.name),
    );
    const rules = (role?.rules ?? []) as PolicyRule[];
    return rules
      .map(
        (rule) =>
          `{APIGroups:[${rule.apiGroups.map((g) => `"${g}"`).join(' ')}], Resources:[${rule.resources.map((r) => `"${r}"`).join(' ')}], Verbs:[${rule.verbs.map((v) => `"${v}"`).join(' ')}]}`,
      )
      .join('\n');
  }

  private forbidden(
    verb: Verb,
    resource: Resource,
    namespace: string | undefined,
    name: string | undefined,
  ): Answer {
    const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
    const subject = name === undefined ? `${resource}.${GROUP}` : `${resource}.${GROUP} "${name}"`;
    return failure(
      403,
      `${subject} is forbidden: User "${this.user}" cannot ${verb} resource "${resource}" in API group "${GROUP}" ${scope}`,
      { ...(name === undefined ? {} : { name }), group: GROUP, kind: resource },
    );
  }

  /** Stores a copy with the metadata the API server sets. */
  private store(
    resource: Resource,
    namespace: string | undefined,
    object: Record<string, unknown>,
  ): KubeObject {
    const copy = structuredClone(object) as Record<string, unknown>;
    delete copy.kind;
    delete copy.apiVersion;
    const metadata = { ...((copy.metadata ?? {}) as Record<string, unknown>) };
    const stored = {
      ...copy,
      metadata: {
        ...metadata,
        name: String(metadata.name),
        ...(namespace === undefined ? {} : { namespace }),
        uid: randomUUID(),
        resourceVersion: String(++this.revision),
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    } as KubeObject;
    this.objects.set(keyOf(resource, namespace, stored.metadata.name), stored);
    return stored;
  }
}

function keyOf(resource: Resource, namespace: string | undefined, name: string): string {
  return namespace === undefined ? `${resource}/${name}` : `${resource}/${namespace}/${name}`;
}

function withType(resource: Resource, object: KubeObject): Record<string, unknown> {
  return { kind: KINDS[resource], apiVersion: API_VERSION, ...object };
}

/** The paths served: namespaced and cluster-scoped collections and objects, decoded. */
function routeOf(path: string): { resource: Resource; namespace?: string; name?: string } | undefined {
  if (!path.startsWith(`${PREFIX}/`)) return undefined;
  const parts = path
    .slice(PREFIX.length + 1)
    .split('/')
    .map(decodeURIComponent);
  const [first, second, third, fourth, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (first === 'namespaces' && second && (third === 'rolebindings' || third === 'roles')) {
    return fourth === undefined
      ? { resource: third, namespace: second }
      : { resource: third, namespace: second, name: fourth };
  }
  if (third !== undefined) return undefined;
  if (first === 'clusterrolebindings' || first === 'clusterroles') {
    return second === undefined ? { resource: first } : { resource: first, name: second };
  }
  // All namespaces: only a list.
  if (first === 'rolebindings' && second === undefined) return { resource: 'rolebindings' };
  return undefined;
}

function verbOf(method: string, name: string | undefined): Verb | undefined {
  if (method === 'GET') return name === undefined ? 'list' : 'get';
  if (method === 'POST' && name === undefined) return 'create';
  if (method === 'DELETE' && name !== undefined) return 'delete';
  return undefined;
}

/** `a=b`, `a==b`, `a!=b`, `a` and `!a`, comma-separated: a predicate each, or what is wrong. */
function parseSelector(text: string): Array<(labels: Record<string, string>) => boolean> | string {
  if (text.trim() === '') return [];
  const predicates: Array<(labels: Record<string, string>) => boolean> = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(part);
    if (equality) {
      const [, key = '', op, value = ''] = equality;
      if (!QUALIFIED_NAME.test(key) || !LABEL_VALUE.test(value)) return `${part}: invalid key or value`;
      predicates.push(op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value);
      continue;
    }
    const exists = /^(!?)([^=!\s()]+)$/.exec(part);
    if (exists && QUALIFIED_NAME.test(exists[2] ?? '')) {
      const key = exists[2] ?? '';
      predicates.push(exists[1] ? (labels) => !(key in labels) : (labels) => key in labels);
      continue;
    }
    return `${part}: the fake supports only =, ==, != and existence`;
  }
  return predicates;
}

/** What the API server's validation says about a binding, as `field: reason` items. */
function validateBinding(resource: BindingResource, object: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    problems.push('metadata.name: Required value: name or generateName is required');
  } else if (name === '.' || name === '..' || /[/%]/.test(name)) {
    problems.push(`metadata.name: Invalid value: "${name}": may not contain '/' or '%', or be '.' or '..'`);
  }
  for (const [field, values] of [
    ['labels', metadata.labels],
    ['annotations', metadata.annotations],
  ] as const) {
    if (values === undefined) continue;
    for (const [key, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
      if (!QUALIFIED_NAME.test(key))
        problems.push(
          `metadata.${field}: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
        );
      if (typeof value !== 'string')
        problems.push(`metadata.${field}.${key}: Invalid value: must be a string`);
      else if (field === 'labels' && !LABEL_VALUE.test(value)) {
        problems.push(
          `metadata.labels: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        );
      }
    }
  }
  const roleRef = object.roleRef as { apiGroup?: unknown; kind?: unknown; name?: unknown } | undefined;
  const kinds = resource === 'clusterrolebindings' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!roleRef) problems.push('roleRef.name: Required value');
  else {
    if (roleRef.apiGroup !== GROUP)
      problems.push(
        `roleRef.apiGroup: Unsupported value: "${String(roleRef.apiGroup)}": supported values: "${GROUP}"`,
      );
    if (!kinds.includes(String(roleRef.kind))) {
      problems.push(
        `roleRef.kind: Unsupported value: "${String(roleRef.kind)}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    if (typeof roleRef.name !== 'string' || roleRef.name === '')
      problems.push('roleRef.name: Required value');
  }
  const subjects = object.subjects ?? [];
  if (!Array.isArray(subjects)) problems.push('subjects: Invalid value: must be a list');
  else {
    subjects.forEach(
      (subject: { kind?: unknown; name?: unknown; apiGroup?: unknown; namespace?: unknown }, i) => {
        if (typeof subject.name !== 'string' || subject.name === '')
          problems.push(`subjects[${i}].name: Required value`);
        if (subject.kind === 'User' || subject.kind === 'Group') {
          if (subject.apiGroup !== undefined && subject.apiGroup !== GROUP) {
            problems.push(
              `subjects[${i}].apiGroup: Unsupported value: "${String(subject.apiGroup)}": supported values: "${GROUP}"`,
            );
          }
          if (subject.namespace)
            problems.push(`subjects[${i}].namespace: Invalid value: must be empty for ${subject.kind}`);
        } else if (subject.kind !== 'ServiceAccount') {
          problems.push(
            `subjects[${i}].kind: Unsupported value: "${String(subject.kind)}": supported values: "ServiceAccount", "User", "Group"`,
          );
        }
      },
    );
  }
  return problems;
}

function failure(
  code: number,
  message: string,
  details?: Record<string, unknown>,
  reason = REASONS[code] ?? 'Unknown',
): Answer {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
  };
}

export async function startFakeKubernetes(options: { token?: string } = {}): Promise<FakeKubernetes> {
  let fake: FakeKubernetes | undefined;
  const server = createServer((req, res) => {
    fake?.handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake = new FakeKubernetes(server, options.token ?? 'fake-sa-token-0123456789abcdef');
  return fake;
}
