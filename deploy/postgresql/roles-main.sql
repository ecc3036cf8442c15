-- Roles and database of Hotline's MAIN cluster (primary.conf). Run once on the primary:
--   sudo -u postgres psql -v ON_ERROR_STOP=1 \
--     -v hotline_password="$(cat hotline.pw)" -v replicator_password="$(cat replicator.pw)" \
--     -f deploy/postgresql/roles-main.sql
-- The passwords go to the front ends' and standby's password files, never into hotline.toml.

-- The front ends' role: owns the main database's tables (migrations create
-- them), is no superuser and cannot create roles or databases.
CREATE ROLE hotline LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD :'hotline_password';
-- Only for the standby's WAL stream and pg_basebackup.
CREATE ROLE replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'replicator_password';

CREATE DATABASE hotline OWNER hotline ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE hotline FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE hotline TO hotline;
\connect hotline
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO hotline;
-- Replica lag in 'hotline doctor' (pg_stat_replication's columns); reads no data.
GRANT pg_monitor TO hotline;
-- The standby's slot, so the primary keeps the WAL it still needs.
SELECT pg_create_physical_replication_slot('hotline_replica');
