-- AlterTable
ALTER TABLE "access_requests" ADD COLUMN "remindedAt" TIMESTAMPTZ(3),
ADD COLUMN "verifiedAt" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "extensions" (
    "id" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "requesterId" TEXT NOT NULL,
    "extraSec" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "version" INTEGER NOT NULL DEFAULT 0,
    "decisionRule" TEXT,
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMPTZ(3),
    "endReason" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "extensions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "extensions_state_check" CHECK ("state" IN ('pending', 'approved', 'denied', 'timed_out', 'cancelled')),
    CONSTRAINT "extensions_extraSec_check" CHECK ("extraSec" > 0)
);

-- CreateTable
CREATE TABLE "extension_approvals" (
    "id" SERIAL NOT NULL,
    "extensionId" TEXT NOT NULL,
    "approverId" TEXT NOT NULL,
    "level" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "extension_approvals_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "extensions_requestId_state_idx" ON "extensions"("requestId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "extension_approvals_extensionId_approverId_key" ON "extension_approvals"("extensionId", "approverId");

-- At most one extension waiting per grant: asking twice is recognised, not queued.
CREATE UNIQUE INDEX "extensions_one_pending_per_request_key" ON "extensions"("requestId") WHERE "state" = 'pending';

-- AddForeignKey
ALTER TABLE "extensions" ADD CONSTRAINT "extensions_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "access_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "extension_approvals" ADD CONSTRAINT "extension_approvals_extensionId_fkey" FOREIGN KEY ("extensionId") REFERENCES "extensions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
