#!/bin/bash
# A one-node Slurm cluster (munged, slurmctld, slurmd) and an S3 server (moto), all on 127.0.0.1, everything
# under DIR: `tests/cluster/up.sh DIR` starts them and prints the environment their clients need;
# `tests/cluster/down.sh DIR` stops them by the pids in DIR. For tests/test_cluster.py and trying the Slurm grid
# by hand; no systemd, nothing written outside DIR. Run as root (SlurmdUser=root).
set -euo pipefail
dir=$(realpath -m "${1:?usage: up.sh DIR}")
mkdir -p "$dir"/spool "$dir"/state
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)

mungekey --create --force --keyfile="$dir/munge.key"  # a key of this cluster's own, not /etc/munge's
munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
       --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" 2>/dev/null

# The node offers more CPUs than it has (config_overrides), so that an array's %N, not the node, limits
# how many of its tasks run at once.
cat > "$dir/slurm.conf" <<CONF
ClusterName=ecaser
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(port)
SlurmdPort=$(port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

s3=$(port)
setsid moto_server -H 127.0.0.1 -p "$s3" > "$dir/moto.log" 2>&1 < /dev/null &
echo $! > "$dir/moto.pid"

for _ in $(seq 100); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$s3/')" \
    2>/dev/null && break
  sleep 0.2
done
[ "$(sinfo -h -o %t)" = idle ] || { echo "error: the Slurm node did not come up: see $dir/slurmd.log" >&2; exit 1; }
echo "export SLURM_CONF=$SLURM_CONF"
echo "export ECASER_S3_ENDPOINT=http://127.0.0.1:$s3"
