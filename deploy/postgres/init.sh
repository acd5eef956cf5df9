#!/bin/sh
# One database and one role per service, each role owning only its own database.
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
set -eu
for service in intake casework evaluation; do
    password_var="$(echo "$service" | tr a-z A-Z)_DB_PASSWORD"
    password="$(printenv "$password_var" || true)"
    if [ -z "$password" ]; then
        echo "$password_var is required" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
