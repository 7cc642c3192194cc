-- The canonical SHA-256 (fhir.CanonicalHash) of the body a request key was
-- first stored for, so that a key reused for a different body (a sender's
-- Bundle.identifier counter reset) is refused instead of answered with the
-- first response. NULL for rows stored before this column and for requests
-- whose key already derives from their bytes: those compare as before
-- (key only).
ALTER TABLE requests ADD COLUMN body_hash TEXT;
