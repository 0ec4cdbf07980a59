-- One-time links to the bot's credential page, for grants that are a login made for the request.
-- Only the SHA-256 of the link's token is stored; a link works once, until expiresAt.
CREATE TABLE "credential_pickups" (
    "tokenHash" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "usedAt" TIMESTAMPTZ(3),
    CONSTRAINT "credential_pickups_pkey" PRIMARY KEY ("tokenHash"),
    CONSTRAINT "credential_pickups_requestId_fkey" FOREIGN KEY ("requestId")
        REFERENCES "access_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "credential_pickups_requestId_idx" ON "credential_pickups"("requestId");
