import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRevocationsFirst } from '../../src/jobs/revocations-first.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('revocations first', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets follow-up work through at once when no revocation runs', async () => {
    const gate = createRevocationsFirst();
    expect(gate.running()).toBe(0);
    expect(await settled(gate.yieldToRevocations())).toBe(true);
  });

  it('holds follow-up work while revocations run and releases it when the last one ends', async () => {
    const gate = createRevocationsFirst(60_000);
    const first = deferred();
    const second = deferred();
    const revocations = [gate.urgent(() => first.promise), gate.urgent(() => second.promise)];
    expect(gate.running()).toBe(2);

    const followUp = gate.yieldToRevocations();
    first.resolve();
    await revocations[0];
    expect(await settled(followUp)).toBe(false);

    second.resolve();
    await revocations[1];
    expect(gate.running()).toBe(0);
    expect(await settled(followUp)).toBe(true);
  });

  it('never starves follow-up work: it runs after the longest wait even while revocations go on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const gate = createRevocationsFirst(2_000);
    const endless = deferred();
    const revocation = gate.urgent(() => endless.promise);

    const followUp = gate.yieldToRevocations();
    vi.advanceTimersByTime(1_999);
    expect(await settled(followUp)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await settled(followUp)).toBe(true);

    endless.resolve();
    await revocation;
  });

  it('counts a revocation that failed as finished, and passes its result or error through', async () => {
    const gate = createRevocationsFirst(60_000);
    await expect(gate.urgent(async () => 'ended')).resolves.toBe('ended');
    await expect(
      gate.urgent(async () => {
        throw new Error('target down');
      }),
    ).rejects.toThrow('target down');
    expect(gate.running()).toBe(0);
    expect(await settled(gate.yieldToRevocations())).toBe(true);
  });
});
