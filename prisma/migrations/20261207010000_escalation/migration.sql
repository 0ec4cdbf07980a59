-- Approval levels (0-based) of a request whose escalateTo approvers were asked too, because the
-- level was not decided within its escalateAfter.
ALTER TABLE "access_requests" ADD COLUMN "escalatedLevels" INTEGER[] NOT NULL DEFAULT ARRAY[]::INTEGER[];
