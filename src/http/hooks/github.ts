import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Deps } from '../../app/deps.js';
import { recallActors, recallForPullRequest } from '../../app/recall.js';
import { parseJson, recallAnswer, validated } from './answers.js';
import { type HookAnswer, type HookDefinition, HookRejection, headerValue } from './hook-route.js';
import { verifyGitHubSignature } from './signature.js';

/**
 * `POST /hooks/github`: when a pull request is closed (merged or not), the grants whose reason
 * names it are recalled — the work they were for is over. Other events are acknowledged and
 * ignored, so one webhook can be subscribed to more than it needs.
 */

/** Only what the recall uses; GitHub's payloads carry much more, which is ignored. */
const closedPullRequest = z.object({
  action: z.literal('closed'),
  pull_request: z.object({
    number: z.number().int().positive(),
    html_url: z.url({ protocol: /^https?$/ }),
    merged: z.boolean().nullish(),
  }),
  repository: z.object({
    name: z.string().min(1),
    owner: z.object({ login: z.string().min(1) }),
  }),
});

const anyAction = z.object({ action: z.string().max(100) });

/** How long a delivery id is remembered: well past GitHub's own redelivery window (3 days). */
const deliveryMemoryMs = 7 * 24 * 60 * 60_000;

/** GitHub's delivery GUID. */
const deliveryId = /^[0-9A-Za-z-]{1,64}$/;

function deliveryIdOf(req: IncomingMessage): string {
  const id = headerValue(req, 'x-github-delivery');
  if (!id || !deliveryId.test(id)) {
    throw new HookRejection(
      400,
      'no valid X-GitHub-Delivery header',
      'The X-GitHub-Delivery header is required.',
    );
  }
  return id;
}

export function githubHook(secret: string | undefined): HookDefinition {
  return {
    hook: 'github',
    path: '/hooks/github',
    secretName: 'GITHUB_WEBHOOK_SECRET',
    secret,
    // A pull request event carries the PR's description (up to 65,536 characters) and repository
    // details; a megabyte leaves room without letting anyone make us buffer much.
    maxBodyBytes: 1024 * 1024,
    verify: ({ secret: key, req, body }) =>
      verifyGitHubSignature({ secret: key, signature: headerValue(req, 'x-hub-signature-256'), body }),
    // GitHub's signature has no timestamp, so a captured delivery stays valid: each delivery id is
    // handled once. A redelivery (from the webhook's settings page) keeps its id and is answered
    // as a duplicate; the recall it would repeat was done the first time.
    delivery: (req) => ({ key: deliveryIdOf(req), ttlMs: deliveryMemoryMs }),
    onRepeat: (req) => ({ status: 200, body: { duplicate: true, delivery: deliveryIdOf(req) } }),
    answer: (deps, req, body) => answerGitHubEvent(deps, req, body),
  };
}

async function answerGitHubEvent(deps: Deps, req: IncomingMessage, body: Buffer): Promise<HookAnswer> {
  const event = headerValue(req, 'x-github-event');
  if (!event)
    throw new HookRejection(400, 'no X-GitHub-Event header', 'The X-GitHub-Event header is required.');
  const json = parseJson(payloadText(req, body));
  if (event === 'ping') return { status: 200, body: { message: 'pong' } };
  if (event !== 'pull_request') return { status: 202, body: { ignored: `event ${event.slice(0, 100)}` } };
  const { action } = validated(json, anyAction);
  if (action !== 'closed') return { status: 202, body: { ignored: `pull_request.${action}` } };

  const payload = validated(json, closedPullRequest);
  const pr = {
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    number: payload.pull_request.number,
    url: payload.pull_request.html_url,
  };
  const name = `${pr.owner}/${pr.repo}#${pr.number}`;
  const outcome = payload.pull_request.merged ? 'merged' : 'closed without merging';
  const summary = await recallForPullRequest(deps, pr, {
    actorId: recallActors.github,
    reason: `Pull request ${name} was ${outcome} (${pr.url}).`,
  });
  deps.logger.info(
    { hook: 'github', delivery: headerValue(req, 'x-github-delivery'), pullRequest: name, ...summary },
    'pull request closed',
  );
  return recallAnswer(summary, { pullRequest: name });
}

/** GitHub sends JSON, or the same JSON as the `payload` form field when so configured. */
function payloadText(req: IncomingMessage, body: Buffer): string {
  const text = body.toString('utf8');
  if (!headerValue(req, 'content-type')?.startsWith('application/x-www-form-urlencoded')) return text;
  return new URLSearchParams(text).get('payload') ?? '';
}
