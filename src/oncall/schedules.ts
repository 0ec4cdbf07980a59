import { z } from 'zod';
import type { OnCallSchedules } from '../app/deps.js';
import type { OnCallSchedule, Policy } from '../config/policy-schema.js';

/**
 * Who is on call right now, from PagerDuty (REST API v2, `GET /oncalls`) or Opsgenie
 * (`GET /v2/schedules/{name}/on-calls`), as email addresses. Answers are kept `cacheFor` seconds
 * per schedule (requests in a burst ask once), and a call that fails or takes longer than
 * `timeout` throws: the caller then leaves the decision to people.
 */

type OnCallConfig = NonNullable<Policy['onCall']>;

const pagerDutyPage = z.object({
  oncalls: z.array(z.object({ user: z.object({ email: z.string().optional() }).nullish() })),
  more: z.boolean().optional(),
});

const opsgenieAnswer = z.object({
  data: z.object({ onCallRecipients: z.array(z.string()).default([]) }),
});

/** PagerDuty's `limit` per page, and how many pages one answer may take. */
const PAGE_SIZE = 100;
const MAX_PAGES = 10;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createOnCallSchedules(
  config: OnCallConfig,
  options: { now?: () => number } = {},
): OnCallSchedules {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { until: number; emails: Promise<ReadonlySet<string>> }>();

  async function get(url: URL, authorization: string, accept: string): Promise<unknown> {
    const response = await fetch(url, {
      headers: { authorization, accept },
      signal: AbortSignal.timeout(config.timeout * 1000),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`${url.host} answered HTTP ${response.status}`);
    return response.json();
  }

  async function pagerDuty(schedule: string): Promise<ReadonlySet<string>> {
    const pd = config.pagerduty;
    if (!pd) throw new Error('no onCall.pagerduty in the policy file');
    const emails = new Set<string>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const url = new URL('/oncalls', pd.apiUrl);
      url.searchParams.append('schedule_ids[]', schedule);
      url.searchParams.append('include[]', 'users');
      url.searchParams.set('limit', String(PAGE_SIZE));
      url.searchParams.set('offset', String(page * PAGE_SIZE));
      const body = pagerDutyPage.parse(
        await get(url, `Token token=${pd.token}`, 'application/vnd.pagerduty+json;version=2'),
      );
      for (const oncall of body.oncalls) if (oncall.user?.email) emails.add(oncall.user.email.toLowerCase());
      if (!body.more) return emails;
    }
    return emails;
  }

  async function opsgenie(schedule: string): Promise<ReadonlySet<string>> {
    const og = config.opsgenie;
    if (!og) throw new Error('no onCall.opsgenie in the policy file');
    const url = new URL(`/v2/schedules/${encodeURIComponent(schedule)}/on-calls`, og.apiUrl);
    url.searchParams.set('scheduleIdentifierType', UUID.test(schedule) ? 'id' : 'name');
    url.searchParams.set('flat', 'true');
    const body = opsgenieAnswer.parse(await get(url, `GenieKey ${og.apiKey}`, 'application/json'));
    return new Set(body.data.onCallRecipients.map((email) => email.toLowerCase()));
  }

  return {
    onCallNow(schedule: OnCallSchedule) {
      const key =
        'pagerduty' in schedule ? `pd:${schedule.pagerduty.schedule}` : `og:${schedule.opsgenie.schedule}`;
      const cached = cache.get(key);
      if (cached && cached.until > now()) return cached.emails;
      const emails =
        'pagerduty' in schedule
          ? pagerDuty(schedule.pagerduty.schedule)
          : opsgenie(schedule.opsgenie.schedule);
      cache.set(key, { until: now() + config.cacheFor * 1000, emails });
      // A failure is not kept: the next request asks again.
      emails.catch(() => {
        if (cache.get(key)?.emails === emails) cache.delete(key);
      });
      return emails;
    },
  };
}
