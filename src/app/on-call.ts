import type { ResourcePolicy } from '../config/policy.js';
import type { OnCallSchedule } from '../config/policy-schema.js';
import type { OnCallAnswer } from '../domain/policy.js';
import type { Deps, SlackUser } from './deps.js';

/**
 * For each autoApprove rule of the resource with `requesterOnCall`: whether the requester is on
 * call there now, matched by their Slack email. When the schedule cannot be asked (no answer in
 * time, an error, no email), the answer says so and the rule does not apply: people decide.
 */
export async function onCallAnswers(
  deps: Pick<Deps, 'onCall' | 'logger'>,
  resource: ResourcePolicy,
  user: Pick<SlackUser, 'id' | 'email'>,
): Promise<Map<number, OnCallAnswer>> {
  const answers = new Map<number, OnCallAnswer>();
  await Promise.all(
    resource.autoApprove.map(async (rule, index) => {
      if (!rule.requesterOnCall) return;
      const where = describeSchedule(rule.requesterOnCall);
      if (!deps.onCall) return void answers.set(index, { where, unknown: 'no onCall block is configured' });
      if (!user.email)
        return void answers.set(index, { where, unknown: 'the requester has no email in Slack' });
      try {
        const emails = await deps.onCall.onCallNow(rule.requesterOnCall);
        answers.set(index, { where, onCall: emails.has(user.email.toLowerCase()) });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        deps.logger.warn({ err: error, userId: user.id }, `${where} could not be asked; people decide`);
        answers.set(index, { where, unknown: reason });
      }
    }),
  );
  return answers;
}

/** How a rule's schedule is named in the reasons people read. */
export function describeSchedule(schedule: OnCallSchedule): string {
  return 'pagerduty' in schedule
    ? `PagerDuty schedule ${schedule.pagerduty.schedule}`
    : `Opsgenie schedule ${schedule.opsgenie.schedule}`;
}
