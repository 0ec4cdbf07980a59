-- An approver's sign-in may be for an extension of the grant (more time is more access), not
-- only for the request itself.
ALTER TABLE "approval_reauths" ADD COLUMN "extensionId" TEXT;
ALTER TABLE "approval_reauths" ADD CONSTRAINT "approval_reauths_extensionId_fkey" FOREIGN KEY ("extensionId")
    REFERENCES "extensions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
