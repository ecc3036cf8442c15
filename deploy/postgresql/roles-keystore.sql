-- Role and database of Hotline's KEY STORE cluster (keystore.conf, port 5433). Run once:
--   sudo -u postgres psql -p 5433 -v ON_ERROR_STOP=1 \
--     -v keys_password="$(cat hotline_keys.pw)" -f deploy/postgresql/roles-keystore.sql
-- Its own role and password: the main role ("hotline") has no account here at
-- all, so neither a leaked main password nor a rogue query through the main
-- connection reaches a key.

CREATE ROLE hotline_keys LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD :'keys_password';
CREATE DATABASE hotline_keys OWNER hotline_keys ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE hotline_keys FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE hotline_keys TO hotline_keys;
\connect hotline_keys
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO hotline_keys;
