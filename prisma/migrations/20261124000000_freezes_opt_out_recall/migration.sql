-- AlterTable
ALTER TABLE "access_requests" ADD COLUMN "decisionRule" TEXT,
ADD COLUMN "reviewRule" TEXT,
ADD COLUMN "lastActiveAt" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "access_requests_requesterId_resource_createdAt_idx" ON "access_requests"("requesterId", "resource", "createdAt");

-- CreateTable
CREATE TABLE "freezes" (
    "id" SERIAL NOT NULL,
    "scope" TEXT NOT NULL,
    "target" TEXT NOT NULL DEFAULT '',
    "reason" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "liftedAt" TIMESTAMPTZ(3),
    "liftedBy" TEXT,

    CONSTRAINT "freezes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "freezes_scope_check" CHECK (
        ("scope" = 'all' AND "target" = '') OR ("scope" IN ('resource', 'user') AND "target" <> '')
    )
);

-- CreateIndex
CREATE INDEX "freezes_liftedAt_idx" ON "freezes"("liftedAt");

-- One standing freeze per scope: freezing twice is recognised, not stacked.
CREATE UNIQUE INDEX "freezes_standing_scope_key" ON "freezes"("scope", "target") WHERE "liftedAt" IS NULL;
