import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessRequest,
  type Approval,
  type AuditEvent,
  type Extension,
  type ExtensionApproval,
  type Freeze,
  type Prisma,
  RequestState,
  type SlackMessage,
} from '../../src/generated/prisma/client.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The migrations are hand-written SQL, so nothing but this file checks that they build the
 * database `prisma/schema.prisma` describes. Rows are typed as the generated models, so every
 * field must be set here, and Prisma's queries name every column: a column missing, misnamed or
 * mistyped in the SQL fails a test.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.prisma.accessRequest.create({ data: asCreateInput(accessRequestRow(REQUEST_ID)) });
});

afterAll(async () => {
  await db.drop();
});

const REQUEST_ID = 'req_schema_1';

/** A row as written: Prisma types a JSON column's input apart from what it reads back. */
function asCreateInput(row: AccessRequest) {
  return { ...row, grantSnapshot: row.grantSnapshot as Prisma.InputJsonObject };
}

function accessRequestRow(id: string): AccessRequest {
  return {
    id,
    requesterId: 'U_REQUESTER',
    resource: 'postgres:prod',
    reason: 'incident 42',
    durationSec: 3600,
    state: RequestState.active,
    version: 3,
    identity: 'alice',
    channelId: 'C_REQUESTS',
    createdAt: new Date('2026-01-01T10:00:00.001Z'),
    updatedAt: new Date('2026-01-01T10:05:00.002Z'),
    decidedAt: new Date('2026-01-01T10:01:00.003Z'),
    decidedBy: 'U_APPROVER',
    grantedAt: new Date('2026-01-01T10:02:00.004Z'),
    expiresAt: new Date('2026-01-01T11:02:00.005Z'),
    endedAt: new Date('2026-01-01T10:30:00.006Z'),
    endReason: 'released early',
    decisionRule: 'freeze',
    reviewRule: 'optOut.outsideBusinessHours',
    lastActiveAt: new Date('2026-01-01T10:20:00.011Z'),
    escalatedLevels: [0],
    remindedAt: new Date('2026-01-01T10:00:30.014Z'),
    verifiedAt: new Date('2026-01-01T10:25:00.015Z'),
    grantSnapshot: { provider: 'proddb', type: 'postgres', grant: { role: 'r1' }, details: {} },
    grantStartedAt: new Date('2026-01-01T10:01:30.016Z'),
    cleanupNeeded: true,
  };
}

function auditEventRow(id: bigint, hash: string): AuditEvent {
  return {
    id,
    at: new Date('2026-01-01T10:02:00.007Z'),
    requestId: REQUEST_ID,
    actor: 'U_APPROVER',
    action: 'approve',
    fromState: 'pending',
    toState: 'approved',
    details: { level: 1, note: 'ok', nested: { list: [1, 'two', null] } },
    prevHash: '0'.repeat(64),
    hash,
    postedAt: new Date('2026-01-01T10:02:01.008Z'),
  };
}

/** The model type reads Json as JsonValue; writing it wants the input type. */
function auditEventInput(event: AuditEvent): Prisma.AuditEventUncheckedCreateInput {
  return { ...event, details: event.details as Prisma.InputJsonValue };
}

describe('every model round-trips with every field set', () => {
  it('AccessRequest', async () => {
    const row = accessRequestRow('req_round_trip');

    await db.prisma.accessRequest.create({ data: asCreateInput(row) });

    expect(await db.prisma.accessRequest.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });

  it('Approval', async () => {
    const row: Approval = {
      id: 101,
      requestId: REQUEST_ID,
      approverId: 'U_APPROVER',
      level: 2,
      createdAt: new Date('2026-01-01T10:01:00.009Z'),
    };

    await db.prisma.approval.create({ data: row });

    expect(await db.prisma.approval.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });

  it('AuditEvent', async () => {
    const row = auditEventRow(9_007_199_254_740_993n, 'a'.repeat(64));

    await db.prisma.auditEvent.create({ data: auditEventInput(row) });

    expect(await db.prisma.auditEvent.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });

  it('SlackMessage', async () => {
    const row: SlackMessage = {
      id: 202,
      requestId: REQUEST_ID,
      purpose: 'approver',
      userId: 'U_APPROVER',
      channel: 'D_APPROVER',
      ts: '1767261600.000100',
      createdAt: new Date('2026-01-01T10:00:01.010Z'),
    };

    await db.prisma.slackMessage.create({ data: row });

    expect(await db.prisma.slackMessage.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });
});

describe('extensions', () => {
  it('Extension and ExtensionApproval round-trip with every field set', async () => {
    const extension: Extension = {
      id: 'EXT-7K2MQ9',
      requestId: REQUEST_ID,
      requesterId: 'U_REQUESTER',
      extraSec: 1800,
      reason: 'migration still running',
      state: 'approved',
      version: 2,
      decisionRule: 'autoApprove[0]',
      decidedBy: 'policy',
      decidedAt: new Date('2026-01-01T10:40:00.016Z'),
      endReason: null,
      createdAt: new Date('2026-01-01T10:39:00.017Z'),
      updatedAt: new Date('2026-01-01T10:40:00.018Z'),
    };
    const approval: ExtensionApproval = {
      id: 404,
      extensionId: extension.id,
      approverId: 'U_APPROVER',
      level: 0,
      createdAt: new Date('2026-01-01T10:39:30.019Z'),
    };

    await db.prisma.extension.create({ data: extension });
    await db.prisma.extensionApproval.create({ data: approval });

    expect(await db.prisma.extension.findUniqueOrThrow({ where: { id: extension.id } })).toEqual(extension);
    expect(await db.prisma.extensionApproval.findUniqueOrThrow({ where: { id: approval.id } })).toEqual(
      approval,
    );
  });

  it('allows one pending extension per grant, counts an approver once, and refuses unknown states', async () => {
    const pending = { requestId: REQUEST_ID, requesterId: 'U_REQUESTER', extraSec: 600, reason: 'more' };
    await db.prisma.extension.create({ data: { ...pending, id: 'EXT-PEND01' } });
    await expect(
      db.prisma.extension.create({ data: { ...pending, id: 'EXT-PEND02' } }),
    ).rejects.toMatchObject({
      code: 'P2002',
    });
    await db.prisma.extensionApproval.create({
      data: { extensionId: 'EXT-PEND01', approverId: 'U_A', level: 0 },
    });
    await expect(
      db.prisma.extensionApproval.create({
        data: { extensionId: 'EXT-PEND01', approverId: 'U_A', level: 1 },
      }),
    ).rejects.toMatchObject({ code: 'P2002' });
    await expect(
      db.prisma.extension.create({ data: { ...pending, id: 'EXT-BAD001', state: 'granted' } }),
    ).rejects.toThrow(/extensions_state_check/);
    await expect(
      db.prisma.extension.create({ data: { ...pending, id: 'EXT-BAD002', state: 'denied', extraSec: 0 } }),
    ).rejects.toThrow(/extensions_extraSec_check/);
  });
});

describe('freezes', () => {
  it('Freeze round-trips with every field set', async () => {
    const row: Freeze = {
      id: 303,
      scope: 'resource',
      target: 'prod-db-write',
      reason: 'incident 7',
      createdBy: 'U_SEC',
      createdAt: new Date('2026-01-01T10:00:02.012Z'),
      liftedAt: new Date('2026-01-01T11:00:02.013Z'),
      liftedBy: 'U_SEC',
    };

    await db.prisma.freeze.create({ data: row });

    expect(await db.prisma.freeze.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  });

  it('allows one standing freeze per scope, and any number of lifted ones', async () => {
    const standing = { scope: 'user', target: 'U_FROZEN', reason: 'phished', createdBy: 'U_SEC' };
    await db.prisma.freeze.create({ data: standing });
    await expect(db.prisma.freeze.create({ data: standing })).rejects.toMatchObject({ code: 'P2002' });

    const lifted = { ...standing, liftedAt: new Date(), liftedBy: 'U_SEC' };
    await db.prisma.freeze.createMany({ data: [lifted, lifted] });
    expect(await db.prisma.freeze.count({ where: { target: 'U_FROZEN' } })).toBe(3);
  });

  it('refuses a scope without a target, or `all` with one', async () => {
    const bad = [
      { scope: 'resource', target: '' },
      { scope: 'all', target: 'prod-db-write' },
      { scope: 'galaxy', target: 'x' },
    ];
    for (const scope of bad) {
      await expect(
        db.prisma.freeze.create({ data: { ...scope, reason: 'r', createdBy: 'U_SEC' } }),
      ).rejects.toThrow(/freezes_scope_check/);
    }
  });
});

describe('defaults, enum values and constraints match the schema', () => {
  it('fills the defaults the schema declares', async () => {
    const created = await db.prisma.accessRequest.create({
      data: {
        id: 'req_defaults',
        requesterId: 'U_REQUESTER',
        resource: 'github:org',
        reason: 'deploy',
        durationSec: 900,
        identity: 'alice',
        approvals: { create: { approverId: 'U_APPROVER', level: 1 } },
        messages: { create: { purpose: 'requester', channel: 'C_REQUESTS', ts: '1.2' } },
      },
      include: { approvals: true, messages: true },
    });

    expect(created).toMatchObject({ state: 'pending', version: 0, channelId: null });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(created.approvals[0]?.id).toEqual(expect.any(Number));
    expect(created.messages[0]?.id).toEqual(expect.any(Number));
  });

  it('accepts every RequestState value', async () => {
    for (const state of Object.values(RequestState)) {
      const updated = await db.prisma.accessRequest.update({
        where: { id: REQUEST_ID },
        data: { state },
      });
      expect(updated.state).toBe(state);
    }
  });

  it('enforces the unique constraints', async () => {
    const approval = { requestId: REQUEST_ID, approverId: 'U_TWICE', level: 1 };
    const message = { requestId: REQUEST_ID, purpose: 'requester', channel: 'D_TWICE', ts: '5.6' };
    const event = (id: bigint) => auditEventInput({ ...auditEventRow(id, 'd'.repeat(64)) });
    await db.prisma.approval.create({ data: approval });
    await db.prisma.slackMessage.create({ data: message });
    await db.prisma.auditEvent.create({ data: event(11n) });

    const duplicates = [
      () => db.prisma.approval.create({ data: { ...approval, level: 2 } }),
      () => db.prisma.slackMessage.create({ data: { ...message, ts: '7.8' } }),
      () => db.prisma.auditEvent.create({ data: event(12n) }),
    ];
    for (const attempt of duplicates) {
      await expect(attempt()).rejects.toMatchObject({ code: 'P2002' });
    }
  });

  it('deletes approvals and messages with their request', async () => {
    await db.prisma.accessRequest.create({
      data: {
        ...asCreateInput(accessRequestRow('req_cascade')),
        approvals: { create: { approverId: 'U_APPROVER', level: 1 } },
        messages: { create: { purpose: 'security', channel: 'C_SECURITY', ts: '3.4' } },
      },
    });

    await db.prisma.accessRequest.delete({ where: { id: 'req_cascade' } });

    expect(await db.prisma.approval.count({ where: { requestId: 'req_cascade' } })).toBe(0);
    expect(await db.prisma.slackMessage.count({ where: { requestId: 'req_cascade' } })).toBe(0);
  });
});

describe('audit_events is append-only', () => {
  const id = 7n;

  beforeAll(async () => {
    const row = { ...auditEventRow(id, 'b'.repeat(64)), postedAt: null };
    await db.prisma.auditEvent.create({ data: auditEventInput(row) });
  });

  it('refuses to change the hash', async () => {
    await expect(
      db.prisma.auditEvent.update({ where: { id }, data: { hash: 'c'.repeat(64) } }),
    ).rejects.toThrow(/append-only/);
  });

  it('refuses to change the event itself', async () => {
    await expect(
      db.prisma.auditEvent.update({ where: { id }, data: { details: { forged: true } } }),
    ).rejects.toThrow(/append-only/);
  });

  it('refuses to delete', async () => {
    await expect(db.prisma.auditEvent.delete({ where: { id } })).rejects.toThrow(/append-only/);
    await expect(db.prisma.auditEvent.deleteMany()).rejects.toThrow(/append-only/);
  });

  it('refuses to truncate', async () => {
    await expect(db.prisma.$executeRawUnsafe('TRUNCATE "audit_events"')).rejects.toThrow(/append-only/);
    expect(await db.prisma.auditEvent.count()).toBeGreaterThan(0);
  });

  it('allows recording when it was posted', async () => {
    const postedAt = new Date('2026-01-01T12:00:00.000Z');

    await db.prisma.auditEvent.update({ where: { id }, data: { postedAt } });

    const stored = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id } });
    expect(stored).toMatchObject({ postedAt, hash: 'b'.repeat(64) });
  });
});
