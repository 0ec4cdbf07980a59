import { describe, expect, it } from 'vitest';
import { RejectionAuditBudget } from '../../src/http/hooks/rejections.js';

const at = (ms: number) => new Date(Date.UTC(2025, 2, 1) + ms);

describe('RejectionAuditBudget', () => {
  it('audits up to the cap per window, then counts the rest and reports them with the next audited one', () => {
    const budget = new RejectionAuditBudget(2, 60_000);
    expect(budget.take('recall', at(0))).toEqual({ audit: true, suppressedBefore: 0 });
    expect(budget.take('recall', at(1))).toEqual({ audit: true, suppressedBefore: 0 });
    expect(budget.take('recall', at(2))).toEqual({ audit: false, first: true });
    expect(budget.take('recall', at(3))).toEqual({ audit: false, first: false });
    expect(budget.take('recall', at(60_000))).toEqual({ audit: true, suppressedBefore: 2 });
    expect(budget.take('recall', at(60_001))).toEqual({ audit: true, suppressedBefore: 0 });
  });

  it('keeps a separate budget per hook', () => {
    const budget = new RejectionAuditBudget(1, 60_000);
    expect(budget.take('recall', at(0)).audit).toBe(true);
    expect(budget.take('recall', at(1)).audit).toBe(false);
    expect(budget.take('github', at(2)).audit).toBe(true);
  });

  it('starts a new window when the clock goes backwards', () => {
    const budget = new RejectionAuditBudget(1, 60_000);
    expect(budget.take('recall', at(60_000)).audit).toBe(true);
    expect(budget.take('recall', at(0)).audit).toBe(true);
  });
});
