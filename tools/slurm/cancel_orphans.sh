#!/usr/bin/env bash
# Cancel the Slurm jobs that an interrupted Snakemake left behind (kill -9, or Ctrl-C: see the
# README's Resuming), before the rerun.
#
#   bash tools/slurm/cancel_orphans.sh [WORKDIR]     (default: the current directory)
#
# The Slurm executor names every job after its run's ID (`SLURM run ID: <id>` at start-up, kept
# in WORKDIR/.snakemake/log/). This cancels every job of those runs still pending or running and
# waits until they have ended, so the rerun does not race them for the same outputs. It is the
# same as `scancel --name <id>` for the dead run. Do not use it while a Snakemake runs in WORKDIR.
set -euo pipefail

WORKDIR=${1:-.}
TIMEOUT_S=${CANCEL_TIMEOUT_S:-300}
ids=$(cat "$WORKDIR"/.snakemake/log/*.snakemake.log 2>/dev/null |
    sed -n 's/.*SLURM run ID: \([A-Za-z0-9_-]*\).*/\1/p' | sort -u | paste -sd, -)
if [ -z "$ids" ]; then
    echo "no Slurm runs recorded in $WORKDIR/.snakemake/log"
    exit 0
fi
active() { squeue -h --name "$ids" -t PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING,REQUEUED,RESIZING -o %i | sort -u; }
jobs=$(active | paste -sd' ' -)
if [ -z "$jobs" ]; then
    echo "no orphaned Slurm jobs"
    exit 0
fi
echo "cancelling Slurm jobs $jobs"
# A job can end between the listing and scancel, which then fails for it; the wait below decides.
# shellcheck disable=SC2086
scancel $jobs || true
for _ in $(seq "$TIMEOUT_S"); do
    [ -z "$(active)" ] && { echo "cancelled: $jobs"; exit 0; }
    sleep 1
done
echo "cancel_orphans.sh: jobs still ending after ${TIMEOUT_S}s: $(active | paste -sd' ' -)" >&2
exit 1
