import type { Deps } from '../../app/deps.js';
import type { Env } from '../../config/env.js';
import type { DeliveryMemory } from '../../slack/replay-guard.js';
import type { Route } from '../routes.js';
import { githubHook } from './github.js';
import { hookRoute } from './hook-route.js';
import { recallHook } from './recall.js';
import { RejectionAuditBudget } from './rejections.js';

/**
 * `POST /hooks/recall` and `POST /hooks/github`, served in HTTP and Socket Mode alike. The routes
 * are handed to Bolt before the use cases' dependencies exist (they need the Slack client), so
 * they take them through `getDeps`, which is only called once requests arrive. With `memory`
 * (Redis), a signed call seen before is not handled again.
 */
export function hookRoutes(
  env: Pick<Env, 'JIT_HOOK_SECRET' | 'GITHUB_WEBHOOK_SECRET'>,
  getDeps: () => Deps,
  memory?: DeliveryMemory,
): Route[] {
  const budget = new RejectionAuditBudget();
  return [
    hookRoute(recallHook(env.JIT_HOOK_SECRET), getDeps, budget, memory),
    hookRoute(githubHook(env.GITHUB_WEBHOOK_SECRET), getDeps, budget, memory),
  ];
}
