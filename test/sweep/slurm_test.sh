#!/usr/bin/env bash
# ctest sweep.slurm: `mip6ike-sweep.sh --slurm` against a real one-node
# Slurm that this test starts under a temp dir (munged with its own key
# and socket, slurmctld and slurmd in the foreground as children, the
# node's CPUs and memory from `slurmd -C`, private ports) and tears down
# afterwards.  A 2 x 2 sweep (2 schemes x 2 seeds) is submitted as a job
# array plus its aggregation job; the test waits for both and checks the
# four run directories (RngRun per array task) and table.csv.
# Exit 77 (ctest SKIP) only when Slurm cannot start here: not root, the
# packages (slurm-wlm, munge) missing, or the daemons failing to come up.
#   slurm_test.sh BUILD_DIR
set -uo pipefail
build="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() { echo "SKIP: $* (the Slurm job array is not tested here)"; exit 77; }
[[ "$(id -u)" -eq 0 ]] || skip "not root: slurmd must run as root to start jobs"
for b in munged mungekey slurmctld slurmd sbatch squeue sinfo; do
  command -v "$b" >/dev/null 2>&1 || skip "$b not installed (Debian: slurm-wlm, munge)"
done
T="$(mktemp -d /tmp/m6ike-slurm.XXXXXX)"
chmod 755 "$T"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
logs() { for f in "$T"/*.log; do echo "---- $f"; tail -n 15 "$f"; done; }

# munge: own key, socket and state in $T
mkdir -p "$T/munge"
chmod 700 "$T/munge"
mungekey --create --keyfile="$T/munge/munge.key" --force >/dev/null 2>&1 ||
  skip "mungekey could not create a key"
munged --foreground --force --socket="$T/munge/sock" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/pid" --log-file="$T/munged.log" --seed-file="$T/munge/seed" \
  >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S "$T/munge/sock" ]] && break; sleep 0.1; done
[[ -S "$T/munge/sock" ]] || { logs; skip "munged did not start"; }

# slurm.conf: this host as the controller and the one node
node="$(slurmd -C 2>/dev/null | head -n 1)"
[[ "$node" == NodeName=* ]] || skip "slurmd -C gave no node line"
name="$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node")"
port=$((20000 + $$ % 20000))
while ss -ltn 2>/dev/null | grep -Eq ":($port|$((port + 1)))\b"; do port=$((port + 2)); done
mkdir -p "$T/state" "$T/spool"
cat >"$T/slurm.conf" <<CONF
ClusterName=m6ike$$
SlurmctldHost=$name(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=m6ike Nodes=$name Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -D -i >"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$name" >"$T/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
  if sinfo -h -N -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then up=1; break; fi
  sleep 0.2
done
[[ $up -eq 1 ]] || { logs; cat "$T"/*.out; skip "slurmctld/slurmd did not bring the node up (sinfo: $(sinfo -h -N 2>&1 | head -n 1))"; }
echo "slurm up: $(sinfo -h -N -o '%N %c CPUs %m MB %t')"

# The sweep as a job array
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
out="$T/sweep"
"$root/scenario/mip6ike-sweep.sh" "$build" "$root/scenarios/xu2008-table1.ini" \
  --vary scheme=msrd,renegotiate --set sweep.traffic.rate_kbps= --seeds 2 \
  --set experiment.duration_s=9 --set output.pcap=false --set output.verbose=false \
  --slurm --out "$out" >"$T/submit.out" 2>&1 || { cat "$T/submit.out"; fail "--slurm exited non-zero"; }
cat "$T/submit.out"
grep -q '^#SBATCH --array=0-3$' "$out/sweep.sbatch" || fail "sweep.sbatch: not an array of 4 tasks"
read -r jid ajid <"$out/slurm.jobs" || fail "no job ids"
grep -q "submitted job array $jid (4 tasks) and aggregation job $ajid" "$T/submit.out" || fail "job ids not printed"
for _ in $(seq 600); do
  [[ -z "$(squeue -h -j "$jid,$ajid" 2>/dev/null)" ]] && break
  sleep 0.2
done
[[ -z "$(squeue -h -j "$jid,$ajid" 2>/dev/null)" ]] || { squeue; fail "jobs still queued after 120 s"; }
for s in msrd renegotiate; do
  for k in 1 2; do
    d="$out/experiment.scheme=$s/seed-$k"
    [[ -s "$d/summary.csv" && -s "$d/timeline.csv" ]] || fail "$d: no summary/timeline"
    grep -qx -- "--RngRun=$k" "$d/args.txt" 2>/dev/null || fail "$d: not RngRun $k"
  done
done
for s in msrd renegotiate; do
  awk -F, -v s="$s" '$1 == s && $4 == "recovery_s" && $5 == 2 && $8 ~ /^[0-9.e+-]+$/ { ok = 1 } END { exit !ok }' \
    "$out/table.csv" 2>/dev/null || fail "table.csv: no recovery_s row for $s with n=2 and a CI"
done
ls "$out/slurm/"
[[ $fails -eq 0 ]] || { logs; tail -n 5 "$out"/slurm/*.out; }
grep recovery_s "$out/table.csv"
echo "$fails failure(s)"
[[ $fails -eq 0 ]]
