#!/usr/bin/env bash
# Stop the cluster started by tools/slurm/up.sh: slurmd, slurmctld and munged, by their PID files;
# running jobs (and their slurmstepd) are cancelled first. Leaves no process behind.
set -uo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/amalia-slurm}
export SLURM_CONF=$DIR/slurm.conf

# Processes whose executable is one of ours and whose parent chain leads to a pid we started.
stop() {  # stop <pidfile> <name>
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

if [ -f "$SLURM_CONF" ] && [ -f "$DIR/slurmctld.pid" ]; then
    scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
    # Give slurmstepd a moment to end the job steps it runs.
    for _ in $(seq 50); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
        sleep 0.2
    done
fi
stop "$DIR/slurmd.pid"
stop "$DIR/slurmctld.pid"
# slurmstepd processes outlive slurmd; each is the parent of one job step and names its spool dir.
for pid in $(pgrep -x slurmstepd); do
    grep -qs "$DIR" "/proc/$pid/environ" /proc/$pid/cmdline && kill -KILL "$pid"
done
stop "$DIR/munge/munged.pid"
[ "$(readlink /etc/slurm/slurm.conf)" = "$DIR/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
exit 0
