#!/usr/bin/env bash
# Makes sure a local PostgreSQL, Redis and MariaDB are running for development and tests.
# Idempotent: when both already answer and the roles exist, it changes nothing.
# Installs them from Debian's packages when missing (needs root and apt-get).
#
# In a PostgreSQL this script starts, it creates two roles for local development and tests:
#   jit         LOGIN SUPERUSER, password "jit"  (owns the bot's databases; tests create databases
#                                                 and roles, so it needs to be a superuser)
#   jit_granter LOGIN, password "jit_granter"    (what the PostgreSQL provider logs in as; member
#                                                 of pg_signal_backend only)
# and a database "jit". In a MariaDB it starts (for the mysql provider and its tests), likewise:
#   'jit'@'localhost', 'jit'@'127.0.0.1'  password "jit", all privileges (tests create roles and users)
#   'jit_granter'@'%'                     password "jit_granter": SELECT on mysql.user and
#                                         mysql.roles_mapping, PROCESS and CONNECTION ADMIN only
# Debian's cluster and MariaDB listen on localhost only. In a PostgreSQL that was
# already running it creates nothing: a superuser with a known password does not belong in a
# server someone else set up. Create the roles yourself there, or set JIT_SERVICES_CREATE_ROLES=1
# to let the script do it.
set -euo pipefail

PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
MYSQL_PORT="${MYSQL_PORT:-3306}"

# Set to 1 when this run installed or started PostgreSQL: only then are roles created in it.
PG_STARTED_HERE=0
MYSQL_STARTED_HERE=0

log() { printf 'services: %s\n' "$*"; }
# shellcheck source=debian-packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

install_missing() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! can_apt; then
    log "missing ${missing[*]} and cannot install it (needs root and apt-get); install it or set DATABASE_URL/REDIS_URL"
    exit 1
  fi
  log "installing ${missing[*]} from Debian's packages"
  apt_install "${missing[@]}"
  # Installed just now (the package may even have started it): this script's server.
  case " ${missing[*]} " in *" postgresql "*) PG_STARTED_HERE=1 ;; esac
  case " ${missing[*]} " in *" mariadb-server "*) MYSQL_STARTED_HERE=1 ;; esac
}

start_postgres() {
  if port_open "$PG_PORT"; then return 0; fi
  PG_STARTED_HERE=1
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    log "creating PostgreSQL $version cluster"
    pg_createcluster "$version" main -p "$PG_PORT" >/dev/null
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && return 0; sleep 0.2; done
  log "PostgreSQL did not become ready"; exit 1
}

start_redis() {
  if port_open "$REDIS_PORT"; then return 0; fi
  log "starting Redis"
  # BullMQ needs noeviction: an evicted job would be a lost revocation.
  redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --maxmemory-policy noeviction \
    --save '' --appendonly no --dir /tmp
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "Redis did not become ready"; exit 1
}

roles_ready() {
  PGPASSWORD=jit psql -h 127.0.0.1 -p "$PG_PORT" -U jit -d jit -tAc 'SELECT 1' >/dev/null 2>&1 &&
    PGPASSWORD=jit_granter psql -h 127.0.0.1 -p "$PG_PORT" -U jit_granter -d jit -tAc \
      "SELECT 1 WHERE pg_has_role('jit_granter', 'pg_signal_backend', 'MEMBER')" | grep -qx 1
}

create_roles() {
  roles_ready && return 0
  if [ "$PG_STARTED_HERE" -ne 1 ] && [ "${JIT_SERVICES_CREATE_ROLES:-0}" != 1 ]; then
    log "PostgreSQL on port $PG_PORT was already running and has no jit/jit_granter roles;"
    log "not creating a superuser with a known password in it. Create the roles (see the top of"
    log "this script), or run again with JIT_SERVICES_CREATE_ROLES=1 if this is a throwaway server."
    exit 1
  fi
  # jit: owner of the bot's databases (superuser so tests can create a database per test file).
  # jit_granter: what the PostgreSQL provider logs in as; it gets ADMIN OPTION on the roles it
  # hands out and pg_signal_backend to end sessions, nothing more.
  as_postgres psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE jit LOGIN SUPERUSER PASSWORD ''jit'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jit')\gexec
SELECT 'CREATE ROLE jit_granter LOGIN PASSWORD ''jit_granter'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jit_granter')\gexec
GRANT pg_signal_backend TO jit_granter;
SELECT 'CREATE DATABASE jit OWNER jit'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'jit')\gexec
SQL
}

start_mariadb() {
  if port_open "$MYSQL_PORT"; then return 0; fi
  MYSQL_STARTED_HERE=1
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  # Debian's own init script, which works without systemd; it waits until the server answers.
  /etc/init.d/mariadb start >/dev/null
  for _ in $(seq 1 50); do port_open "$MYSQL_PORT" && return 0; sleep 0.2; done
  log "MariaDB did not become ready"; exit 1
}

mariadb_users_ready() {
  mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -u jit -pjit -e 'SELECT 1' >/dev/null 2>&1 &&
    mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -u jit_granter -pjit_granter -e 'SELECT 1' >/dev/null 2>&1
}

create_mariadb_users() {
  mariadb_users_ready && return 0
  if [ "$MYSQL_STARTED_HERE" -ne 1 ] && [ "${JIT_SERVICES_CREATE_ROLES:-0}" != 1 ]; then
    log "MariaDB on port $MYSQL_PORT was already running and has no jit/jit_granter users;"
    log "not creating an all-privileges user with a known password in it. Create the users (see"
    log "the top of this script), or run again with JIT_SERVICES_CREATE_ROLES=1."
    exit 1
  fi
  # Debian's root account logs in through the unix socket, as the system's root.
  mariadb --protocol=socket <<'SQL'
CREATE USER IF NOT EXISTS 'jit'@'localhost' IDENTIFIED BY 'jit';
CREATE USER IF NOT EXISTS 'jit'@'127.0.0.1' IDENTIFIED BY 'jit';
GRANT ALL PRIVILEGES ON *.* TO 'jit'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'jit'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'jit_granter'@'%' IDENTIFIED BY 'jit_granter';
GRANT SELECT ON mysql.user TO 'jit_granter'@'%';
GRANT SELECT ON mysql.roles_mapping TO 'jit_granter'@'%';
GRANT PROCESS, CONNECTION ADMIN ON *.* TO 'jit_granter'@'%';
SQL
}

if ! port_open "$PG_PORT" || ! port_open "$REDIS_PORT" || ! port_open "$MYSQL_PORT"; then install_missing; fi
start_postgres
start_redis
start_mariadb
create_roles
create_mariadb_users
log "PostgreSQL on 127.0.0.1:$PG_PORT (user jit/jit, database jit), Redis on 127.0.0.1:$REDIS_PORT,"
log "MariaDB on 127.0.0.1:$MYSQL_PORT (user jit/jit)"
