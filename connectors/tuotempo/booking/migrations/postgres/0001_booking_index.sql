-- 0001: the online-booking index of stored Schedules, Slots, the
-- insurances PractitionerRoles name, and Appointments (search without
-- decoding resources), and the answers of addAppointment kept by request
-- key (a retried call answers the first call's record). Times: start_s and
-- end_s in Unix seconds (UTC), *_us in Unix microseconds. Id lists (locs,
-- acts) are written ",a,b," so a LIKE '%,a,%' matches one id; acts = ''
-- means every activity.
CREATE TABLE booking_meta (
    k TEXT NOT NULL PRIMARY KEY,
    v TEXT NOT NULL
);
CREATE TABLE booking_schedules (
    id           TEXT NOT NULL PRIMARY KEY,
    practitioner TEXT NOT NULL,
    locs         TEXT NOT NULL,
    acts         TEXT NOT NULL
);
CREATE TABLE booking_slots (
    id           TEXT   NOT NULL PRIMARY KEY,
    schedule     TEXT   NOT NULL,
    practitioner TEXT   NOT NULL,
    locs         TEXT   NOT NULL,
    acts         TEXT   NOT NULL,
    start_s      BIGINT NOT NULL,
    end_s        BIGINT NOT NULL,
    status       TEXT   NOT NULL
);
CREATE INDEX booking_slots_prac ON booking_slots (practitioner, status, start_s);
CREATE INDEX booking_slots_status ON booking_slots (status, start_s);
CREATE INDEX booking_slots_schedule ON booking_slots (schedule);
CREATE TABLE booking_role_insurance (
    role         TEXT NOT NULL,
    practitioner TEXT NOT NULL,
    insurance    TEXT NOT NULL,
    PRIMARY KEY (role, insurance)
);
CREATE INDEX booking_role_insurance_prac ON booking_role_insurance (practitioner, insurance);
CREATE TABLE booking_appointments (
    id           TEXT   NOT NULL PRIMARY KEY,
    patient      TEXT   NOT NULL,
    practitioner TEXT   NOT NULL,
    locs         TEXT   NOT NULL,
    start_s      BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL
);
CREATE INDEX booking_appointments_patient ON booking_appointments (patient, start_s);
CREATE TABLE booking_requests (
    k          TEXT   NOT NULL PRIMARY KEY,
    record     TEXT   NOT NULL,
    created_us BIGINT NOT NULL
);
