-- The audit chain's head: the hash of its last event, in one row. An append updates this row and
-- inserts the event in one statement; the row's lock orders appends from every process (it
-- replaces the advisory lock and the read of the last event), and PostgreSQL re-reads the row
-- after waiting for that lock, so an append always chains onto the latest committed event.
CREATE TABLE "audit_chain_head" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "hash" TEXT NOT NULL,
    -- The hash before it (of the event before the last), so one statement can give both.
    "prevHash" TEXT NOT NULL,
    CONSTRAINT "audit_chain_head_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_chain_head_one_row" CHECK ("id" = 1)
);

-- An existing chain goes on from its last event; a new one from the genesis hash (64 zeros).
INSERT INTO "audit_chain_head" ("id", "hash", "prevHash")
SELECT 1,
    coalesce((SELECT "hash" FROM "audit_events" ORDER BY "id" DESC LIMIT 1), repeat('0', 64)),
    coalesce((SELECT "prevHash" FROM "audit_events" ORDER BY "id" DESC LIMIT 1), repeat('0', 64));
