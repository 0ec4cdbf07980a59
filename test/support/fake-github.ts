import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson } from './read-json.js';

/**
 * A real HTTP server speaking the part of GitHub's REST API the github-team provider uses: team
 * lookup, team memberships and organization memberships, with GitHub's statuses and bodies (404
 * for anything the token cannot see, 401 for a bad token, 422 for a bad role). As on GitHub,
 * adding a user outside the org to a team invites them: both memberships are `pending` until the
 * invitation is accepted, and removing the team membership leaves the invitation standing;
 * removing the org membership (or cancelling the invitation) ends their team memberships too.
 * Records every call; tests change memberships directly to act behind the bot's back.
 */

export type TeamRole = 'member' | 'maintainer';
export type OrgRole = 'admin' | 'member';

export interface FakeGithubCall {
  method: string;
  path: string;
  /** The Authorization header as sent. */
  authorization: string | undefined;
  body: unknown;
  status: number;
}

export interface FakeGithubFault {
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many consecutive calls fail; 1 by default. */
  times?: number;
}

interface Membership {
  role: TeamRole;
  state: 'active' | 'pending';
}

export interface OrgMembership {
  role: OrgRole;
  state: 'active' | 'pending';
}

const DOCS = 'https://docs.github.com/rest/teams/members';
const ORG_DOCS = 'https://docs.github.com/rest/orgs/members';

export class FakeGithub {
  readonly calls: FakeGithubCall[] = [];
  /** The API root to configure as the provider's `baseUrl`. */
  readonly baseUrl: string;
  /** Every GitHub account, lower-cased login → account id. */
  private readonly users = new Map<string, number>();
  private readonly orgMemberships = new Map<string, OrgMembership>();
  private readonly teams = new Map<string, Map<string, Membership>>();
  private fault: (FakeGithubFault & { times: number }) | undefined;

  constructor(
    private readonly server: Server,
    readonly org: string,
    readonly token: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/api/v3`;
  }

  /**
   * A GitHub account, an active org member unless `orgMember: false`; one outside the org is
   * invited when added to a team (`pending`). Adding a user again resets their org membership.
   */
  addUser(login: string, options: { orgMember?: boolean; orgRole?: OrgRole } = {}): void {
    const key = login.toLowerCase();
    if (!this.users.has(key)) this.users.set(key, 1000 + this.users.size);
    if (options.orgMember ?? true)
      this.orgMemberships.set(key, { role: options.orgRole ?? 'member', state: 'active' });
    else this.orgMemberships.delete(key);
  }

  orgMembership(login: string): OrgMembership | undefined {
    return this.orgMemberships.get(login.toLowerCase());
  }

  /** Changes an org membership the way an owner would in GitHub's UI: no call is recorded. */
  setOrgMembership(login: string, membership: OrgMembership | undefined): void {
    const key = login.toLowerCase();
    if (membership) this.orgMemberships.set(key, membership);
    else this.removeFromOrg(key);
  }

  /** The user accepts their invitation: the org membership and their team memberships go active. */
  acceptInvitation(login: string): void {
    const key = login.toLowerCase();
    const invited = this.orgMemberships.get(key);
    if (invited?.state !== 'pending') throw new Error(`${login} has no pending invitation`);
    invited.state = 'active';
    for (const team of this.teams.values()) {
      const membership = team.get(key);
      if (membership) membership.state = 'active';
    }
  }

  addTeam(slug: string, members: Record<string, TeamRole> = {}): void {
    const team = new Map<string, Membership>();
    for (const [login, role] of Object.entries(members))
      team.set(login.toLowerCase(), { role, state: 'active' });
    this.teams.set(slug, team);
  }

  removeTeam(slug: string): void {
    this.teams.delete(slug);
  }

  membership(slug: string, login: string): Membership | undefined {
    return this.teams.get(slug)?.get(login.toLowerCase());
  }

  /** Changes a membership the way an org owner would in GitHub's UI: no call is recorded. */
  setMembership(slug: string, login: string, membership: Membership | undefined): void {
    const team = this.teams.get(slug);
    if (!team) throw new Error(`no team ${slug}`);
    if (membership) team.set(login.toLowerCase(), membership);
    else team.delete(login.toLowerCase());
  }

  /** Makes the next `times` calls answer with this status and message. */
  failNext(fault: FakeGithubFault): void {
    this.fault = { ...fault, times: fault.times ?? 1 };
  }

  callsTo(method: string, pathPart = ''): FakeGithubCall[] {
    return this.calls.filter((call) => call.method === method && call.path.includes(pathPart));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** @internal */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const method = req.method ?? 'GET';
    const answer = this.answer(method, path, req.headers.authorization, body);
    this.calls.push({ method, path, authorization: req.headers.authorization, body, status: answer.status });
    res.writeHead(answer.status, {
      ...(answer.body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...answer.headers,
    });
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  }

  private answer(
    method: string,
    path: string,
    authorization: string | undefined,
    body: unknown,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    if (!authorization) return { status: 401, body: { message: 'Requires authentication' } };
    const [scheme, credential] = authorization.split(' ');
    if (!/^(token|bearer)$/i.test(scheme ?? '') || credential !== this.token) {
      return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
    }
    if (this.fault && this.fault.times > 0) {
      this.fault.times -= 1;
      const { status, message, headers } = this.fault;
      return { status, body: { message: message ?? 'Server Error', documentation_url: DOCS }, headers };
    }
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
    const org = /^\/api\/v3\/orgs\/([^/]+)\/memberships\/([^/]+)$/.exec(path);
    if (org) {
      if (org[1]?.toLowerCase() !== this.org.toLowerCase()) return notFound;
      return this.answerOrgMembership(method, decodeURIComponent(org[2] ?? '').toLowerCase());
    }
    const match = /^\/api\/v3\/orgs\/([^/]+)\/teams\/([^/]+)(?:\/memberships\/([^/]+))?$/.exec(path);
    if (!match || match[1]?.toLowerCase() !== this.org.toLowerCase()) return notFound;
    const slug = decodeURIComponent(match[2] ?? '');
    const team = this.teams.get(slug);
    if (!team) return notFound;
    const login = match[3] === undefined ? undefined : decodeURIComponent(match[3]).toLowerCase();
    if (login === undefined) {
      return method === 'GET'
        ? { status: 200, body: { id: 1, slug, name: slug, privacy: 'closed' } }
        : notFound;
    }
    const url = `${this.baseUrl}/orgs/${this.org}/teams/${slug}/memberships/${login}`;
    if (method === 'GET') {
      const membership = team.get(login);
      return membership ? { status: 200, body: { url, ...membership } } : notFound;
    }
    if (method === 'DELETE') {
      return team.delete(login) ? { status: 204 } : notFound;
    }
    if (method === 'PUT') {
      if (!this.users.has(login)) return notFound;
      const role = (body as { role?: unknown } | undefined)?.role ?? 'member';
      if (role !== 'member' && role !== 'maintainer') {
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [{ resource: 'TeamMember', field: 'role', code: 'invalid' }],
            documentation_url: DOCS,
          },
        };
      }
      // GitHub sends an outsider an invitation to the org; they are in neither until they accept.
      let inOrg = this.orgMemberships.get(login);
      if (!inOrg) {
        inOrg = { role: 'member', state: 'pending' };
        this.orgMemberships.set(login, inOrg);
      }
      const state = inOrg.state === 'active' ? 'active' : 'pending';
      team.set(login, { role, state });
      return { status: 200, body: { url, role, state } };
    }
    return notFound;
  }

  /** GET and DELETE /orgs/{org}/memberships/{username}, shaped as GitHub documents them. */
  private answerOrgMembership(
    method: string,
    login: string,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: ORG_DOCS } };
    const membership = this.orgMemberships.get(login);
    const id = this.users.get(login);
    if (!membership || id === undefined) return notFound;
    if (method === 'DELETE') {
      this.removeFromOrg(login);
      return { status: 204 };
    }
    if (method !== 'GET') return notFound;
    const api = this.baseUrl;
    return {
      status: 200,
      body: {
        url: `${api}/orgs/${this.org}/memberships/${login}`,
        state: membership.state,
        role: membership.role,
        organization_url: `${api}/orgs/${this.org}`,
        organization: {
          login: this.org,
          id: 1,
          node_id: 'O_kgDOAAAAAQ',
          url: `${api}/orgs/${this.org}`,
          repos_url: `${api}/orgs/${this.org}/repos`,
          members_url: `${api}/orgs/${this.org}/members{/member}`,
          avatar_url: 'https://avatars.githubusercontent.com/u/1?v=4',
          description: null,
        },
        user: {
          login,
          id,
          node_id: `U_kgDO${id}`,
          url: `${api}/users/${login}`,
          html_url: `https://github.com/${login}`,
          avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
          type: 'User',
          site_admin: false,
        },
      },
    };
  }

  /** Leaving the org (or having the invitation cancelled) ends every team membership in it. */
  private removeFromOrg(login: string): void {
    this.orgMemberships.delete(login);
    for (const team of this.teams.values()) team.delete(login);
  }
}

export async function startFakeGithub(options: { org?: string; token?: string } = {}): Promise<FakeGithub> {
  let fake: FakeGithub | undefined;
  const server = createServer((req, res) => {
    fake?.handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake = new FakeGithub(server, options.org ?? 'acme', options.token ?? 'ghp_fake_token_0123456789');
  return fake;
}
