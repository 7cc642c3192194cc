-- 0002: one inbound file's processing is recorded once, across every
-- process sharing the store, and a big file is applied in chunks with a
-- checkpoint.
-- generation tells apart the deliberate re-runs of one file (Reprocess
-- records generation = the previous one + 1); rows recorded before this
-- migration take their id, so existing history never collides.
-- line is the last physical line applied while outcome is in_progress
-- (the checkpoint), and state the counts a resumed run carries on with.
ALTER TABLE file_ledger ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE file_ledger ADD COLUMN line BIGINT NOT NULL DEFAULT 0;
ALTER TABLE file_ledger ADD COLUMN state TEXT NOT NULL DEFAULT '';
UPDATE file_ledger SET generation = id;
-- files recorded without a hash (over the size limit, never read) are
-- outside the key: they apply nothing
CREATE UNIQUE INDEX file_ledger_in_once ON file_ledger (job, path, size, sha256, generation)
    WHERE direction = 'in' AND sha256 <> '';
