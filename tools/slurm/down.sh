#!/usr/bin/env bash
# Stop the cluster started by tools/slurm/up.sh, leaving no process behind: cancel its jobs, stop
# slurmd, slurmctld and munged by their PID files, then end any job step (slurmstepd and what it
# started) still holding files of the cluster, by PID. Safe to run when nothing is up.
set -uo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/amalia-slurm}
export SLURM_CONF=$DIR/slurm.conf

stop() {  # stop <pidfile>: TERM, wait up to 10 s, then KILL
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
}

descendants() {  # descendants <pid>: its children, grandchildren, ...
    local child
    for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done
}

if [ -f "$SLURM_CONF" ] && [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    scancel --quiet --user "$(id -un)" 2>/dev/null || true
    # Cancelled steps get SIGTERM, then SIGKILL after KillWait (5 s).
    for _ in $(seq 150); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING,CONFIGURING -o %i 2>/dev/null)" ] && break
        sleep 0.2
    done
fi
stop "$DIR/slurmd.pid"
stop "$DIR/slurmctld.pid"
# A job step outlives slurmd: its slurmstepd (which logs to the cluster's slurmd.log) and the job's
# processes under it.
for pid in $(pgrep -x slurmstepd); do
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$DIR/"; then
        kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
    fi
done
stop "$DIR/munge/munged.pid"
[ "$(readlink /etc/slurm/slurm.conf)" = "$DIR/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
exit 0
