#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm executor's tests and for trying
# `whittle run --executor slurm` without a cluster (docs/slurm.md).
#
#   scripts/slurm_cluster.sh start DIR    start munged (if not running), slurmctld and slurmd with
#                                         their configuration, state and logs under DIR; prints the
#                                         line to export: SLURM_CONF=DIR/slurm.conf
#   scripts/slurm_cluster.sh stop DIR     stop that cluster's daemons (munged is left running)
#
# Needs Debian's slurm-wlm and munge, and root (the daemons run as root: SlurmUser=root). The node
# has 2 CPUs, the partition is `debug`. Exit status 3 means the cluster cannot be started here
# (not root, packages missing, or the daemons did not come up): the tests skip with that message.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: scripts/slurm_cluster.sh start|stop DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"

cannot() {
  echo "cannot start a Slurm cluster here: $*" >&2
  exit 3
}

stop() {
  for d in slurmd slurmctld; do
    if [[ -f "$dir/$d.pid" ]]; then
      pid=$(cat "$dir/$d.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do  # wait until it is gone: it writes its state on the way out
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$d.pid"
    fi
  done
}

if [[ "$cmd" == stop ]]; then
  stop
  exit 0
fi
[[ "$cmd" == start ]] || { echo "usage: scripts/slurm_cluster.sh start|stop DIR" >&2; exit 2; }

[[ $(id -u) == 0 ]] || cannot "the daemons must run as root (run as root, or skip the Slurm tests)"
for b in slurmctld slurmd sbatch squeue scontrol sinfo munged; do
  command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] || cannot "$b is missing (Debian: apt-get install slurm-wlm munge)"
done
export PATH="$PATH:/usr/sbin"

# munge: one key for the machine, one daemon.
if ! pgrep -x munged >/dev/null; then
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chmod 0400 /etc/munge/munge.key
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  munged --force || cannot "munged did not start"
fi

host=$(hostname -s)
cpus=$(nproc)
((cpus > 2)) && cpus=2
mkdir -p "$dir/state" "$dir/spool"
cat >"$conf" <<EOF
ClusterName=whittle-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$conf"
stop
slurmctld -c -f "$conf" || cannot "slurmctld did not start (see $dir/slurmctld.log)"
slurmd -f "$conf" || cannot "slurmd did not start (see $dir/slurmd.log)"
for _ in $(seq 60); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1 || true)
  if [[ "$state" == idle* || "$state" == mix* || "$state" == alloc* ]]; then
    echo "SLURM_CONF=$conf"
    exit 0
  fi
  sleep 0.5
done
stop
cannot "the node did not become idle within 30 s (last state: ${state:-none}; see $dir/slurmctld.log and $dir/slurmd.log)"
