#!/usr/bin/env bash
# The sync benchmark: builds the release binary, then runs bench/sync/ against two real
# orgsync processes. Arguments go to the benchmark:
#
#   bench/run.sh                      # 100k and 1M records (and W1 on PostgreSQL at 100k)
#   bench/run.sh --quick              # 10k and 100k: a smoke run of a few minutes
#   bench/run.sh --sizes 100k,1M      # or ORGSYNC_BENCH_SIZES=100000,1000000 bench/run.sh
#   bench/run.sh --no-postgres        # skip W1 on PostgreSQL (W5) and W9
#   bench/run.sh --skip w4,w6,w9      # leave workloads out while working on one (W1 always runs)
#
# PostgreSQL is reached at ORGSYNC_BENCH_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test); when it is not reachable that part is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin orgsync
exec cargo bench --bench sync -- "$@"
