import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents } from '../../src/audit/chain.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/** `/jit audit [id|@user]`: the security team reads the trail in Slack; nobody else can. */

let h: Harness;
let alices: string;
let eves: string;

beforeAll(async () => {
  h = await startHarness();
  alices = await h.request(users.alice, 'prod-db-write', '1h', 'INC-42 failing migration');
  await h.click(users.bob, actionIds.approve, alices, await h.approverMessage(alices, users.bob));
  await h.dmTo(users.alice, `${alices}\`: you have`);
  eves = await h.request(users.eve, 'prod-db-write', '30m', 'INC-43 slow queries');
});
afterAll(async () => {
  await h?.stop();
});

async function audit(userId: string, text: string) {
  const { reply } = await h.slash(userId, text);
  expect(reply.ok).toBe(true);
  expect(reply.body.response_type).toBe('ephemeral');
  return { text: String(reply.body.text), blocks: JSON.stringify(reply.body.blocks) };
}

const eventsOf = (where: { requestId?: string }) =>
  h.db.prisma.auditEvent.findMany({ where, orderBy: { id: 'asc' } });

describe('/jit audit for the security team', () => {
  it('shows the latest events and the chain status', async () => {
    const all = await eventsOf({});
    const newest = all.at(-1);
    const { text, blocks } = await audit(users.sec, 'audit');
    expect(text).toMatch(/^Audit trail: \d+ events$/);
    expect(blocks).toContain(`*request.created* \`${alices}\``);
    expect(blocks).toContain(`*request.created* \`${eves}\``);
    expect(blocks).toContain(`hash \`${newest?.hash.slice(0, 12)}\``);
    expect(blocks).toMatch(/The chain holds \d+ events; the newest is #\d+/);
    expect(blocks).toContain('run `jit audit verify` to check every link');
  });

  it('shows one request’s events', async () => {
    const { blocks } = await audit(users.sec, `audit ${alices.toLowerCase()}`);
    expect(blocks).toContain(`Audit trail of \`${alices}\``);
    expect(blocks).toContain(`*request.approved* \`${alices}\` by <@${users.bob}>`);
    expect(blocks).toContain('INC-42 failing migration');
    expect(blocks).not.toContain(eves);
  });

  it('shows a user’s events: what they did and what happened to their requests', async () => {
    const { blocks } = await audit(users.sec, `audit <@${users.alice}|alice>`);
    expect(blocks).toContain(`Audit trail of <@${users.alice}>`);
    expect(blocks).toContain(`*request.approved* \`${alices}\` by <@${users.bob}>`);
    expect(blocks).not.toContain(eves);
  });

  it('says so when there is nothing', async () => {
    const { blocks } = await audit(users.sec, 'audit JIT-ZZZZZZ');
    expect(blocks).toContain('no events.');
  });

  it('keeps to Block Kit limits with long details, listing the latest 20', async () => {
    await h.db.prisma.$transaction((tx) =>
      appendAuditEvents(
        tx,
        Array.from({ length: 30 }, (_, i) => ({
          actor: 'hook:github',
          action: 'hook.rejected',
          details: { n: i, why: `<!channel> ${'x'.repeat(5000)}` },
        })),
        new Date(),
      ),
    );
    const { text, blocks } = await audit(users.sec, 'audit');
    expect(text).toBe('Audit trail: 20 events');
    expect(blocks).toContain('n: 29');
    expect(blocks).not.toContain('n: 9 ');
    // Escaped: a detail cannot ping the channel.
    expect(blocks).not.toContain('<!channel>');
  });

  it('flags an event whose contents no longer match its hash', async () => {
    const [created] = await eventsOf({ requestId: eves });
    const client = new Client({ connectionString: h.db.url });
    await client.connect();
    await client.query('BEGIN; SET LOCAL session_replication_role = replica');
    await client.query(`UPDATE audit_events SET details = '{"reason":"nothing to see"}' WHERE id = $1`, [
      created?.id,
    ]);
    await client.query('COMMIT');
    await client.end();

    const { text, blocks } = await audit(users.sec, `audit ${eves}`);
    expect(text).toMatch(/, 1 edited$/);
    expect(blocks).toContain(`#${created?.id} `);
    expect(blocks).toContain('this event was edited');
  });
});

describe('/jit audit for anyone else', () => {
  it('is refused, and the attempt is audited and posted to the security channel', async () => {
    const { reply } = await h.slash(users.eve, `audit <@${users.alice}>`);
    expect(String(reply.body.text)).toContain('Only the security team');
    expect(String(reply.body.text)).not.toContain(alices);

    const [refusal] = await h.db.prisma.auditEvent.findMany({
      where: { action: 'admin.refused', actor: users.eve },
    });
    expect(refusal?.details).toEqual({ attempted: `audit ${users.alice}` });
    await h.fake.waitFor(
      'chat.postMessage',
      (c) =>
        c.ok &&
        c.args.channel === securityChannel &&
        String(c.args.text).startsWith(`admin.refused by ${users.eve}`),
    );
  });

  it('is refused for a request id too, recorded against that request', async () => {
    const { reply } = await h.slash(users.alice, `audit ${alices}`);
    expect(String(reply.body.text)).toContain('Only the security team');
    const refusals = await h.db.prisma.auditEvent.findMany({
      where: { action: 'admin.refused', actor: users.alice, requestId: alices },
    });
    expect(refusals).toHaveLength(1);
  });
});
