-- Approver re-authentication (`approverReauth: oidc`): one row per Approve click that needs a
-- fresh sign-in at the company's OpenID Connect provider. The link's token and the OIDC state
-- are stored as SHA-256 only; the row is used once (usedAt), and only until expiresAt.
CREATE TABLE "approval_reauths" (
    "tokenHash" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "approverId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "stateHash" TEXT,
    "nonce" TEXT,
    "codeVerifier" TEXT,
    "usedAt" TIMESTAMPTZ(3),
    CONSTRAINT "approval_reauths_pkey" PRIMARY KEY ("tokenHash"),
    CONSTRAINT "approval_reauths_requestId_fkey" FOREIGN KEY ("requestId")
        REFERENCES "access_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE UNIQUE INDEX "approval_reauths_stateHash_key" ON "approval_reauths"("stateHash");
CREATE INDEX "approval_reauths_requestId_idx" ON "approval_reauths"("requestId");
