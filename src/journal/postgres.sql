-- The table of vandar::journal::PostgresJournal (run by PostgresJournal::migrate; safe to run again).
-- One row per money move or payment, keyed by its track id (a batch's batch_id, a payment's token).
-- `intent` is written once and never changed; `outcome` is the last one recorded; `open` is false once
-- an outcome closes the entry. The lease (`lease_holder` until `lease_until_ms`, the database's clock)
-- keeps replicas recovering at once off each other's entries.
CREATE TABLE IF NOT EXISTS vandar_journal (
    key            text    PRIMARY KEY,
    kind           text    NOT NULL,
    operation      text    NOT NULL,
    intent         jsonb   NOT NULL,
    outcome        jsonb,
    open           boolean NOT NULL DEFAULT true,
    created_at_ms  bigint  NOT NULL,
    lease_holder   text,
    lease_until_ms bigint
);
-- Recovery reads the open entries oldest first; closed ones, the great majority, stay out of the index.
CREATE INDEX IF NOT EXISTS vandar_journal_open ON vandar_journal (created_at_ms) WHERE open;
-- Added with the one rule for a track id (each statement safe to run again, and on a table of an
-- earlier version): `move` is the intent's fingerprint (Intent::fingerprint), compared when the client
-- begins sending; `state` is 'staged' (written ahead by the application, never sent) or 'sent' (the
-- client began sending it at `sending_since_ms`, the database's clock). Rows of an earlier version
-- read as 'sent' (the earlier client recorded each intent just before sending: the safe reading) and
-- have no `move`, so they are never sent again.
ALTER TABLE vandar_journal ADD COLUMN IF NOT EXISTS move text;
ALTER TABLE vandar_journal ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'sent';
ALTER TABLE vandar_journal ADD COLUMN IF NOT EXISTS sending_since_ms bigint;
