-- tuOtempO Sincro's private tables (guide A.2 and B.1), in a fixed schema
-- the role SINCRO logs in as gets nothing on. The configured published
-- schema holds only views over these tables, created at serve start:
-- the nine Sincro views read rows; TT_RESERVATIONS_TMP and
-- TT_DELETE_RESERVATION are simple (auto-updatable) views over
-- reservations_tmp and delete_reservation, so SINCRO's inserts land here
-- with the views' owner's rights.
CREATE SCHEMA IF NOT EXISTS tuotempo_sincro_data;

-- rows: the views' rows, one set per view and source resource, the
-- columns as JSON text; day is the real date of a date-filtered view.
CREATE TABLE IF NOT EXISTS tuotempo_sincro_data.rows (
    view_name text NOT NULL,
    src_type text NOT NULL,
    src_id text NOT NULL,
    seq integer NOT NULL,
    cols jsonb NOT NULL,
    day date,
    PRIMARY KEY (view_name, src_type, src_id, seq)
);
CREATE INDEX IF NOT EXISTS rows_view_day ON tuotempo_sincro_data.rows (view_name, day);

-- reservations_tmp: TT_RESERVATIONS_TMP's storage, the guide's columns,
-- limits, NOT NULLs and defaults (APP_TMP_ID "do not use" defaults to '',
-- INSERT_TIME to the insert's time), then the bridge's private state:
-- bridge_id (claim order and key), bridge_done (when applied; NULL:
-- pending), bridge_tries (attempts the booker could not answer).
CREATE TABLE IF NOT EXISTS tuotempo_sincro_data.reservations_tmp (
    bridge_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "APP_TMP_ID" varchar(10) NOT NULL DEFAULT '',
    "APP_LID" varchar(50),
    "APP_TID" varchar(50) NOT NULL,
    "APP_ACTION" varchar(10) NOT NULL,
    "APP_DATE" varchar(10) NOT NULL,
    "APP_START_TIME" varchar(5) NOT NULL,
    "APP_END_TIME" varchar(5),
    "USER_LID" varchar(50),
    "USER_TID" varchar(50),
    "USER_FIRST_NAME" varchar(50),
    "USER_SECOND_NAME" varchar(50),
    "USER_THIRD_NAME" varchar(50),
    "USER_ID_NUMBER" varchar(50),
    "USER_LANDLINE_PHONE" varchar(50),
    "USER_MOBILE_PHONE" varchar(50),
    "USER_EMAIL" varchar(50),
    "USER_DATE_OF_BIRTH" varchar(10),
    "USER_GENDER" varchar(10),
    "USER_ZIP_CODE" varchar(10),
    "USER_WORK_PHONE" varchar(50),
    "USER_NOTES" varchar(500),
    "USER_LANGUAGE" varchar(10),
    "RESOURCE_LID" varchar(50) NOT NULL,
    "ACTIVITY_LID" varchar(50),
    "INSURANCE_LID" varchar(50),
    "LOCATION_LID" varchar(50),
    "STATUS" varchar(50),
    "NOTES" varchar(500),
    "APP_OWNER_LID" varchar(50),
    "APP_OWNER_TID" varchar(50),
    "APP_OWNER_NAME" varchar(50),
    "STATUS_TRIGGER" varchar(4000),
    "INSERT_TIME" timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    "APP_CUSTOM_0" varchar(500),
    "APP_CUSTOM_1" varchar(500),
    "APP_CUSTOM_2" varchar(500),
    "APP_CUSTOM_3" varchar(500),
    "APP_CUSTOM_4" varchar(500),
    bridge_done timestamptz,
    bridge_tries integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reservations_tmp_pending ON tuotempo_sincro_data.reservations_tmp (bridge_id) WHERE bridge_done IS NULL;

-- delete_reservation: TT_DELETE_RESERVATION's storage, likewise.
CREATE TABLE IF NOT EXISTS tuotempo_sincro_data.delete_reservation (
    bridge_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "APP_TMP_ID" varchar(10) NOT NULL DEFAULT '',
    "APP_LID" varchar(50),
    "USER_LANDLINE_PHONE" varchar(50),
    "USER_MOBILE_PHONE" varchar(50),
    "USER_EMAIL" varchar(50),
    "APP_STATUS" varchar(4000),
    "STATUS_TRIGGER" varchar(4000),
    "INSERT_TIME" timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    bridge_done timestamptz,
    bridge_tries integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS delete_reservation_pending ON tuotempo_sincro_data.delete_reservation (bridge_id) WHERE bridge_done IS NULL;

-- An insert (through the published views too) notifies the bridge, which
-- LISTENs on channel tuotempo_sincro. The body stays on one line: the
-- store splits migrations on semicolons that end a line.
CREATE OR REPLACE FUNCTION tuotempo_sincro_data.notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('tuotempo_sincro', TG_TABLE_NAME); RETURN NULL; END $$;
CREATE OR REPLACE TRIGGER sincro_notify AFTER INSERT ON tuotempo_sincro_data.reservations_tmp FOR EACH STATEMENT EXECUTE FUNCTION tuotempo_sincro_data.notify();
CREATE OR REPLACE TRIGGER sincro_notify AFTER INSERT ON tuotempo_sincro_data.delete_reservation FOR EACH STATEMENT EXECUTE FUNCTION tuotempo_sincro_data.notify();
