#!/usr/bin/env bash
# A whole sync on one machine: two orgsync instances on loopback, a server org with an entity,
# a sync user and a few records on the first, a client org connected to it in XML on the
# second, a sync, and the client's records printed at the end.
#
#   examples/quickstart.sh            # builds orgsync if needed, then runs
#
# Needs curl. SERVER_PORT and CLIENT_PORT (default 8081, 8082) choose the ports; ORGSYNC_BIN
# a binary other than target/debug/orgsync; KEEP=1 leaves both instances running at the end.
# Every step prints the request it makes, so it reads as a walkthrough (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER_PORT=${SERVER_PORT:-8081}
CLIENT_PORT=${CLIENT_PORT:-8082}
SERVER=http://127.0.0.1:$SERVER_PORT
CLIENT=http://127.0.0.1:$CLIENT_PORT
BIN=${ORGSYNC_BIN:-target/debug/orgsync}
WORK=$(mktemp -d)

step() { printf '\n== %s\n' "$*"; }
fail() { echo "quickstart: $*" >&2; exit 1; }
# The value of a JSON string member (the answers here are flat enough for sed).
member() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n1; }
# Calls the service and fails the script on a status of 400 or more, printing the problem.
call() {
  local out status
  out=$(curl -sS -w '\n%{http_code}' "$@") || fail "curl $* failed"
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  [ "$status" -lt 400 ] || fail "HTTP $status from $*: $out"
  printf '%s' "$out"
}

if [ -z "${ORGSYNC_BIN:-}" ]; then
  step "Building orgsync (the first build takes a few minutes)"
  cargo build -q --bin orgsync
fi

PIDS=()
stop() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "both instances keep running (pids ${PIDS[*]}); their data is in $WORK"
    return
  fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

# Each instance has its own folder: its SQLite file and the secrets generated next to it.
start() {
  local name=$1 port=$2
  mkdir -p "$WORK/$name"
  "$BIN" serve --bind "127.0.0.1:$port" --database-url "sqlite://$WORK/$name/orgsync.db" \
    --job-poll 200ms >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2
  fail "the $name instance did not start on port $port"
}
# A provider token of an instance, signed with the secret in its folder.
provider_token() { ORGSYNC_DATA_DIR="$WORK/$1" "$BIN" token --role provider; }

# Polls a job until it ends; prints its log and fails unless it Completed.
wait_job() {
  local base=$1 token=$2 id=$3 job status
  for _ in $(seq 1 300); do
    job=$(call "$base/rest/v1/jobs/$id" -H "Authorization: Bearer $token")
    status=$(printf '%s' "$job" | member Status)
    case $status in
      Queued | InProcess) sleep 0.2 ;;
      *) break ;;
    esac
  done
  echo "job $id: $status"
  call "$base/rest/v1/jobs/$id/log?Limit=50" -H "Authorization: Bearer $token" |
    grep -o '"Action":"[^"]*","Message":"[^"]*"' |
    sed 's|"Action":"\([^"]*\)","Message":"\([^"]*\)"|  \1: \2|'
  [ "$status" = Completed ] || fail "job $id ended $status: $job"
}

step "Starting the server instance on $SERVER and the client instance on $CLIENT"
start server "$SERVER_PORT"
start client "$CLIENT_PORT"
S_TOKEN=$(provider_token server)
C_TOKEN=$(provider_token client)

step "Server: the org contoso"
call -X POST "$SERVER/rest/v1/orgs" -H "Authorization: Bearer $S_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"Name": "contoso", "DisplayName": "Contoso"}'
echo

step "Server: the entity account, with a required name and an email"
call -X PUT "$SERVER/rest/v1/orgs/contoso/metadata/entities/account" \
  -H "Authorization: Bearer $S_TOKEN" -H 'Content-Type: application/json' \
  -d '{"DisplayName": "Account", "PrimaryName": "name", "Attributes": [
        {"Name": "name", "Type": "String", "Required": true, "MaxLength": 160},
        {"Name": "emailaddress1", "Type": "String", "MaxLength": 100},
        {"Name": "numberofemployees", "Type": "Integer"}]}' >/dev/null
echo "defined"

step "Server: three accounts, written in one batch"
call -X POST "$SERVER/rest/v1/orgs/contoso/batch" -H "Authorization: Bearer $S_TOKEN" \
  -H 'Content-Type: application/json' -H 'Idempotency-Key: quickstart-accounts' \
  -d '{"Operations": [
        {"Op": "Upsert", "Entity": "account", "Id": "acc-1", "Attributes": {"name": "Fabrikam", "emailaddress1": "info@fabrikam.example", "numberofemployees": 120}},
        {"Op": "Upsert", "Entity": "account", "Id": "acc-2", "Attributes": {"name": "Northwind", "emailaddress1": "sales@northwind.example", "numberofemployees": 45}},
        {"Op": "Upsert", "Entity": "account", "Id": "acc-3", "Attributes": {"name": "Tailspin", "numberofemployees": 8}}]}' >/dev/null
echo "written"

step "Server: the user the client signs in with (ConnectAsync's UserName and Password)"
call -X POST "$SERVER/rest/v1/orgs/contoso/users" -H "Authorization: Bearer $S_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"UserName": "sync@contoso.example", "Password": "quickstart-password-1", "Role": "org_user"}' >/dev/null
echo "sync@contoso.example"

step "Client: ConnectAsync in XML registers the org client and points it at $SERVER/rest/v1/orgs/contoso"
ACCEPTED=$(call -X POST "$CLIENT/rest/v1/sync/client/ConnectAsync" \
  -H "Authorization: Bearer $C_TOKEN" -H 'Content-Type: application/xml' \
  -d "<ConnectRequest><SyncSetup>
        <ProviderID>7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c</ProviderID>
        <Url>$SERVER/rest/v1/orgs/contoso</Url>
        <UserName>sync@contoso.example</UserName>
        <Password>quickstart-password-1</Password>
        <RegistrationInfo><Email>admin@client.example</Email><Company>Client Ltd</Company></RegistrationInfo>
        <SyncMode>Mirror</SyncMode>
      </SyncSetup></ConnectRequest>")
echo "$ACCEPTED"
wait_job "$CLIENT" "$C_TOKEN" "$(printf '%s' "$ACCEPTED" | member JobId)"

step "Client: SyncAsync downloads the server's records"
ACCEPTED=$(call -X POST "$CLIENT/rest/v1/sync/client/SyncAsync" \
  -H "Authorization: Bearer $C_TOKEN" -H 'Content-Type: application/json' -d '{}')
echo "$ACCEPTED"
wait_job "$CLIENT" "$C_TOKEN" "$(printf '%s' "$ACCEPTED" | member JobId)"

step "Client: its accounts"
RECORDS=$(call "$CLIENT/rest/v1/orgs/client/entities/account/records" \
  -H "Authorization: Bearer $C_TOKEN")
printf '%s' "$RECORDS" | grep -o '"name":"[^"]*"' | sed 's/"name":/  /'
COUNT=$(printf '%s' "$RECORDS" | grep -o '"Entity":"account"' | wc -l)
[ "$COUNT" -eq 3 ] || fail "the client holds $COUNT accounts, not the server's 3: $RECORDS"

step "Client: a new account written on the client goes to the server as a transaction"
call -X POST "$CLIENT/rest/v1/orgs/client/entities/account/records" \
  -H "Authorization: Bearer $C_TOKEN" -H 'Content-Type: application/json' \
  -d '{"Id": "acc-4", "Attributes": {"name": "Contoso Pharma", "numberofemployees": 300}}'
echo
for _ in $(seq 1 50); do
  TX=$(call "$CLIENT/rest/v1/sync/client/transactions?Entity=account" -H "Authorization: Bearer $C_TOKEN")
  case $TX in *'"Status":"Processed"'*) break ;; esac
  sleep 0.2
done
echo "$TX"
call "$SERVER/rest/v1/orgs/contoso/entities/account/records/acc-4" -H "Authorization: Bearer $S_TOKEN" |
  grep -q '"Contoso Pharma"' || fail "the server does not hold the client's acc-4"
echo "the server holds acc-4 too"
echo
echo "The client holds the server's 3 accounts, and the server the client's new one."
