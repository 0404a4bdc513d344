-- Ledger's database roles, created when the PostgreSQL data volume is first initialised
-- (docker-entrypoint-initdb.d runs this once, as the owner, in the ledger database).
--
-- ledger_app: what the server may do. Migrations grant it SELECT and INSERT on every
--   table and nothing more (they create it too, if it does not exist yet).
-- ledger_server: how the server logs in. It holds nothing but membership of ledger_app,
--   so no RESET ROLE can lead anywhere with the power to rewrite history.
--
-- Replace the password before exposing the database anywhere.
CREATE ROLE ledger_app NOLOGIN;
CREATE ROLE ledger_server LOGIN PASSWORD 'change-me-server' IN ROLE ledger_app;
