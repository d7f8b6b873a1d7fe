#!/usr/bin/env bash
# Start a private single-node Slurm cluster on this machine (for tests and local trials).
#
#   bash tools/slurm/up.sh     # then sinfo, sbatch, snakemake --profile profiles/slurm ...
#   bash tools/slurm/down.sh   # stops it again (by PID)
#
# Needs root and the Debian packages slurmctld, slurmd, slurm-client, munge (envs/apt.txt); no
# systemd. Everything (config, munge key and socket, spool, state, logs) lives in $SLURM_TEST_DIR
# (default /tmp/amalia-slurm), on its own ports, so an existing munge is left alone; the one file
# outside it is the link /etc/slurm/slurm.conf (refused where a real Slurm has its config).
#
# Three partitions on the one node: `cpu` (default), `gpu`, whose node has two fake GPUs
# (Gres=gpu:2, gres.conf File= pointing at two plain files), and `short` (MaxTime 10 minutes, for
# the preflight's time-limit check). Node CPUs and memory are the
# machine's own (slurmd -C). Jobs run with HOME=/nonexistent/home (SLURM_TEST_JOB_HOME). MinJobAge is one hour, so finished jobs stay visible to squeue and
# `scontrol show job` (the workflow's status command without accounting); time limits are
# enforced with no grace (OverTimeLimit=0) and a short KillWait.
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/amalia-slurm}
PORT=${SLURM_TEST_PORT:-6917}   # slurmctld; slurmd uses PORT+1
SBIN=/usr/sbin
die() { echo "up.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their user)"
for bin in slurmctld slurmd munged; do [ -x "$SBIN/$bin" ] || die "$bin missing: apt-get install slurmctld slurmd slurm-client munge"; done
command -v sbatch >/dev/null || die "sbatch missing: apt-get install slurm-client"
if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    die "already running from $DIR (bash tools/slurm/down.sh first)"
fi

HOST=$(hostname -s)
rm -rf "$DIR"
mkdir -p "$DIR"/{munge,state,spool,log,gpu}
chmod 700 "$DIR" "$DIR/munge"

# munge: a private key and socket.
dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$DIR/munge/munge.key"
$SBIN/munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" ||
    die "munged did not start: $(tail -n 3 "$DIR/log/munged.log")"

# The node as slurmd sees it; memory a little under it (slurmd refuses a node with less than configured).
read -r CPUS SOCKETS CORES THREADS MEM < <($SBIN/slurmd -C | head -1 |
    sed -E 's/.*CPUs=([0-9]+).*SocketsPerBoard=([0-9]+).*CoresPerSocket=([0-9]+).*ThreadsPerCore=([0-9]+).*RealMemory=([0-9]+).*/\1 \2 \3 \4 \5/')
MEM=$((MEM * 95 / 100))

touch "$DIR/gpu/fake0" "$DIR/gpu/fake1"
# Jobs see a HOME that does not exist, as on compute nodes without the submitter's home: a run
# that needs anything there beyond its working directory fails here.
printf '#!/bin/sh\necho "export HOME=%s"\n' "${SLURM_TEST_JOB_HOME:-/nonexistent/home}" > "$DIR/task_prolog.sh"
chmod 755 "$DIR/task_prolog.sh"
cat > "$DIR/gres.conf" <<CONF
NodeName=$HOST Name=gpu File=$DIR/gpu/fake[0-1]
CONF
cat > "$DIR/slurm.conf" <<CONF
ClusterName=amalia-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No cgroups here: track processes by parent PID, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
TaskProlog=$DIR/task_prolog.sh
OverTimeLimit=0
KillWait=5
InactiveLimit=0
MailProg=/bin/true
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
PartitionName=short Nodes=$HOST MaxTime=00:10:00 State=UP
CONF

# Inside a job the Slurm executor plugin drops SLURM_* variables (SLURM_CONF too) before its
# `srun`, so the clients must find the config at the default path: link it there, unless some
# other Slurm already has a config there.
ETC=/etc/slurm/slurm.conf
if [ -e "$ETC" ] || [ -L "$ETC" ]; then
    [ "$(readlink "$ETC")" = "$DIR/slurm.conf" ] || die "$ETC exists and is not ours; not touching it"
else
    mkdir -p /etc/slurm
    ln -s "$DIR/slurm.conf" "$ETC"
fi

export SLURM_CONF=$DIR/slurm.conf
$SBIN/slurmctld -i -f "$SLURM_CONF" || die "slurmctld did not start: $(tail -n 3 "$DIR/log/slurmctld.log")"
$SBIN/slurmd -f "$SLURM_CONF" || die "slurmd did not start: $(tail -n 3 "$DIR/log/slurmd.log")"

# Ready when the node is idle in both partitions.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
for _ in $(seq 300); do
    sleep 0.1
    for d in slurmctld slurmd; do
        alive "$DIR/$d.pid" || [ ! -f "$DIR/$d.pid" ] || die "$d died: $(tail -n 3 "$DIR/log/$d.log")"
    done
    state=$(sinfo -h -N -o '%t' 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [ "$state" = "idle " ] && alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then
        echo "Slurm up: partitions $(sinfo -h -o '%P' | xargs) on $HOST ($CPUS CPUs, $MEM MB, 2 fake GPUs); files in $DIR"
        exit 0
    fi
done
die "node not idle after 30 s (state: ${state:-none}); logs in $DIR/log"
