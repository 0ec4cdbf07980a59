-- The grant as granted: provider name and type, the provider-specific target and what the grant
-- created besides (an organization membership, say). Revoke, verify and drift read this, never
-- the current policy file. Null only on requests made before this migration.
ALTER TABLE "access_requests"
ADD COLUMN "grantSnapshot" JSONB,
-- Set (before the provider is called) when a grant attempt starts.
ADD COLUMN "grantStartedAt" TIMESTAMPTZ(3),
-- A request that ended while a grant may have landed on the target: the cleanup revoke is owed
-- until this is cleared, and the reconcile sweep re-creates its job if Redis lost it.
ADD COLUMN "cleanupNeeded" BOOLEAN NOT NULL DEFAULT false;

CREATE INDEX "access_requests_cleanupNeeded_idx" ON "access_requests" ("cleanupNeeded") WHERE "cleanupNeeded";
