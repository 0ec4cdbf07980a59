import { describe, expect, it } from 'vitest';
import { createRevocationsFirst } from '../../src/jobs/revocations-first.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A follow-up that records when it starts and finishes when told to. */
function followUps(gate: ReturnType<typeof createRevocationsFirst>, count: number) {
  const started: number[] = [];
  const finish = Array.from({ length: count }, () => deferred());
  const done = finish.map((f, i) =>
    gate.followUp(async () => {
      started.push(i);
      await f.promise;
      return i;
    }),
  );
  return { started, finish, done };
}

describe('revocations first', () => {
  it('runs follow-up work at once when no revocation runs', async () => {
    const gate = createRevocationsFirst(1);
    const work = followUps(gate, 3);
    await settle();
    expect(work.started).toEqual([0, 1, 2]);
    for (const f of work.finish) f.resolve();
    expect(await Promise.all(work.done)).toEqual([0, 1, 2]);
  });

  it('lets follow-ups through only a trickle at a time while revocations run, and all once they end', async () => {
    const gate = createRevocationsFirst(2);
    const revocation = deferred();
    const revoking = gate.urgent(() => revocation.promise);
    expect(gate.running()).toBe(1);

    const work = followUps(gate, 5);
    await settle();
    expect(work.started).toEqual([0, 1]);

    // A slot freed while the revocation still runs goes to the next one in line.
    work.finish[0]?.resolve();
    await work.done[0];
    await settle();
    expect(work.started).toEqual([0, 1, 2]);

    revocation.resolve();
    await revoking;
    await settle();
    expect(gate.running()).toBe(0);
    expect(work.started).toEqual([0, 1, 2, 3, 4]);
    for (const f of work.finish) f.resolve();
    expect(await Promise.all(work.done)).toEqual([0, 1, 2, 3, 4]);
  });

  it('never starves follow-ups while revocations keep coming', async () => {
    const gate = createRevocationsFirst(1);
    const endless = deferred();
    const revoking = gate.urgent(() => endless.promise);
    const work = followUps(gate, 3);
    for (let i = 0; i < 3; i++) {
      await settle();
      expect(work.started).toHaveLength(i + 1);
      work.finish[i]?.resolve();
      await work.done[i];
    }
    endless.resolve();
    await revoking;
  });

  it('counts a revocation that failed as finished, and passes results and errors through', async () => {
    const gate = createRevocationsFirst(1);
    await expect(gate.urgent(async () => 'ended')).resolves.toBe('ended');
    await expect(
      gate.urgent(async () => {
        throw new Error('target down');
      }),
    ).rejects.toThrow('target down');
    expect(gate.running()).toBe(0);
    await expect(
      gate.followUp(async () => {
        throw new Error('slack down');
      }),
    ).rejects.toThrow('slack down');
    await expect(gate.followUp(async () => 'posted')).resolves.toBe('posted');
  });
});
