#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing `nanolm study run --executor slurm`.
#   scripts/slurm_local.sh start [DIR]   install (apt: slurm-wlm, munge) if missing, write DIR/slurm.conf, start
#                                        munged, slurmctld and slurmd; prints `export SLURM_CONF=...`
#   scripts/slurm_local.sh stop [DIR]    stop the daemons
# Root only (it runs the daemons as root). DIR defaults to /tmp/nanolm-slurm.
set -euo pipefail
cmd=${1:-start}; dir=${2:-/tmp/nanolm-slurm}
[ "$(id -u)" -eq 0 ] || { echo "error: scripts/slurm_local.sh must run as root (it starts munged, slurmctld, slurmd)" >&2; exit 1; }

stop() {
    for d in slurmd slurmctld; do [ -f "$dir/$d.pid" ] && kill "$(cat "$dir/$d.pid")" 2>/dev/null || true; done
    pkill -x slurmd 2>/dev/null || true; pkill -x slurmctld 2>/dev/null || true
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

missing=()
for p in slurm-wlm munge; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing with apt: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stop
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=nanolm
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key and a running daemon (slurm authenticates every RPC with it)
if ! pgrep -x munged >/dev/null; then
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true; chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1; then runuser -u munge -- /usr/sbin/munged --force; else /usr/sbin/munged --force; fi
fi

/usr/sbin/slurmctld -f "$dir/slurm.conf"
/usr/sbin/slurmd -f "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"
for _ in $(seq 30); do
    sinfo -h -o "%t" 2>/dev/null | grep -qE "^(idle|mix|alloc)" && break
    sleep 1
done
state=$(sinfo -h -o "%t" 2>/dev/null || true)
case "$state" in idle*|mix*|alloc*) ;; *) echo "error: slurm node state is '${state:-unknown}'; see $dir/log/" >&2; exit 1 ;; esac
echo "export SLURM_CONF=$dir/slurm.conf"
