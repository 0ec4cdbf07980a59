/**
 * Audit events the security channel must see ahead of routine posts: access that is not coming
 * back on its own (a revoke that keeps failing, access found after its end), a freeze being put
 * on or lifted, the summary of a bulk revoke, and grants left outside the policy file. Where they are written they are posted
 * with `urgent`; the sweep, re-posting what Redis lost, asks this list.
 */
export const urgentAuditActions: ReadonlySet<string> = new Set([
  'revoke.retrying',
  'revoke.bulk',
  'drift.revoked',
  'drift.revoke_failed',
  'freeze.created',
  'freeze.lifted',
  'policy.grants_outside_policy',
]);
