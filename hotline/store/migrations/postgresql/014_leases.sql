-- Hotline schema v14 on PostgreSQL: the same as ../014_leases.sql (unix times as
-- DOUBLE PRECISION, which REAL is on SQLite). Work claimed once by any of several
-- front ends (issue 14).
--
-- Several `hotline serve` processes share one database. Each claims due work
-- (a page, a summary page, a Twilio job) in one transaction by writing its
-- own random id (`lease_owner`) and a time (`lease_until`, unix time) onto
-- the row; only rows that are unleased or whose lease ran out can be claimed,
-- and only the holder records the outcome (`... WHERE lease_owner = ?`). A
-- front end that dies leaves its claims to the others once the lease ends.
-- `sending_since` is written just before a notification is handed to its
-- notifier: a claim taken over with it set may already have been delivered
-- (the one window where a page can go out twice; docs/threat-model.md).
--
-- sms_outbox (advocates' replies) keeps the number in memory only, so its
-- retries cannot move to another front end: the lease there says the sending
-- front end is alive; once it ends, any front end marks the reply failed.
ALTER TABLE page_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE page_outbox ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE page_outbox ADD COLUMN sending_since DOUBLE PRECISION;
ALTER TABLE page_summaries ADD COLUMN lease_owner TEXT;
ALTER TABLE page_summaries ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE page_summaries ADD COLUMN sending_since DOUBLE PRECISION;
ALTER TABLE twilio_jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE twilio_jobs ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE sms_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE sms_outbox ADD COLUMN lease_until DOUBLE PRECISION;
CREATE INDEX sms_outbox_in_flight ON sms_outbox(status, lease_until)
    WHERE status IN ('sending', 'retrying');
