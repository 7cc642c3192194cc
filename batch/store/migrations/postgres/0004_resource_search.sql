-- 0004: search columns on resources for the queries that run on a
-- schedule (the export window on Appointment and Slot start, the status
-- poll on Appointment status). The store fills them on every put of a
-- resource (search.go); this step fills them for the rows stored before.
-- start_at is the start instant in Unix microseconds for the types that
-- have one (NULL when absent or not a full date-time with zone); status
-- is the resource's top-level status code (NULL when absent or longer
-- than 64 bytes). Both are prefilters: readers re-check the body.
-- The helper functions map a malformed body or instant to NULL instead of
-- failing the migration; they are dropped at the end.
ALTER TABLE resources ADD COLUMN start_at BIGINT;
ALTER TABLE resources ADD COLUMN status TEXT;
CREATE FUNCTION fhirbridge_0004_json(b bytea) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN RETURN convert_from(b, 'UTF8')::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $f$;
CREATE FUNCTION fhirbridge_0004_instant(s text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN IF s IS NULL OR s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.,][0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$' THEN RETURN NULL; END IF; RETURN floor(extract(epoch FROM replace(s, ',', '.')::timestamptz) * 1000000)::bigint; EXCEPTION WHEN others THEN RETURN NULL; END $f$;
UPDATE resources r SET
    start_at = CASE WHEN r.type IN ('Appointment', 'Slot') AND jsonb_typeof(x.j -> 'start') = 'string'
        THEN fhirbridge_0004_instant(x.j ->> 'start') END,
    status = CASE WHEN jsonb_typeof(x.j -> 'status') = 'string' AND octet_length(x.j ->> 'status') BETWEEN 1 AND 64
        THEN x.j ->> 'status' END
FROM (SELECT c.type, c.id, fhirbridge_0004_json(v.body) AS j
      FROM resources c JOIN resource_versions v
        ON v.type = c.type AND v.id = c.id AND v.version = c.version
      WHERE c.version > 0) x
WHERE r.type = x.type AND r.id = x.id;
DROP FUNCTION fhirbridge_0004_instant(text);
DROP FUNCTION fhirbridge_0004_json(bytea);
CREATE INDEX resources_start ON resources (type, start_at);
CREATE INDEX resources_status ON resources (type, status);
