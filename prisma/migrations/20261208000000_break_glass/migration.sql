-- Break-glass grants (a resource's `breakGlass:`): granted at once by the requester, then reviewed
-- after the fact. One row per such request: who may review it (as the policy said when it was
-- used), by when, and what the review found.
CREATE TABLE "break_glass_reviews" (
    "requestId" TEXT NOT NULL,
    "reviewers" JSONB NOT NULL,
    "freezeOnFlag" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "outcome" TEXT,
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMPTZ(3),
    "overdueAt" TIMESTAMPTZ(3),
    CONSTRAINT "break_glass_reviews_pkey" PRIMARY KEY ("requestId"),
    CONSTRAINT "break_glass_reviews_requestId_fkey" FOREIGN KEY ("requestId")
        REFERENCES "access_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "break_glass_reviews_outcome_dueAt_idx" ON "break_glass_reviews"("outcome", "dueAt");
