-- 0002: the last scheduled slot each export job reached (ran, whether it
-- succeeded or failed), in Unix microseconds: the slots after it that are
-- due when the bridge starts again are the ones missed while it was not
-- running. A job without a row has never run: nothing was missed.
CREATE TABLE export_cursors (
    job     TEXT   NOT NULL PRIMARY KEY,
    slot_at BIGINT NOT NULL
);
