#!/usr/bin/env bash
# A study's wall time end to end: serial (`--jobs 1`) against `--jobs auto`, the same study in two fresh
# directories, and whether both give the same predicted and actual losses (each run trains on the same
# threads under every --jobs, so they must be equal to the last bit: docs/DESIGN.md, Parallelism).
#   bench/study_speed.sh [STUDY_FILE]     default bench/study_small.yaml (a few minutes on 2 cores);
#                                         examples/nano.yaml is the README's study (~15 min serial on 2 cores)
#   BASELINE=/path/to/nanolm bench/study_speed.sh ...   the serial leg with another build (e.g. an older one)
# Data: data/nano (built here if missing, as scripts/main.sh does). Run on a quiet machine: every number
# here is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/release_nanolm.sh   # NANOLM=path: an existing build instead
SERIAL=${BASELINE:-$NANOLM}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}   # as scripts/main.sh runs the study
study=${1:-bench/study_small.yaml}
grep -q "data/nano" "$study" && [ ! -f data/nano/index.json ] && "$NANOLM" data build --track nano --tokenizer bytes --out data/nano
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); study $study"
declare -A wall
for jobs in 1 auto; do
  bin=$NANOLM; [ "$jobs" = 1 ] && bin=$SERIAL
  start=$(date +%s.%N)
  "$bin" study run "$study" --dir "$out/jobs-$jobs" --jobs "$jobs" --json > "$out/$jobs.json" 2> "$out/$jobs.log" \
    || { echo "study run --jobs $jobs failed:"; tail -5 "$out/$jobs.log"; exit 1; }
  wall[$jobs]=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  echo "--jobs $jobs: ${wall[$jobs]} s"
done
python3 - "$out/1.json" "$out/auto.json" "${wall[1]}" "${wall[auto]}" <<'PY'
import json, sys
serial, auto = (json.load(open(p)) for p in sys.argv[1:3])
t1, ta = float(sys.argv[3]), float(sys.argv[4])
def losses(r):
    return [(o["design"], (o.get("prediction") or {}).get("loss"), o.get("targetLoss")) for o in r["outcomes"]]
def runs(r):
    return sorted((x["directory"].split("/runs/")[-1], x.get("loss")) for x in r["runs"])
print(f"wall: --jobs 1 {t1:.1f} s, --jobs auto {ta:.1f} s, ratio auto/serial {ta / t1:.2f}")
for (d, p1, a1), (_, pa, aa) in zip(losses(serial), losses(auto)):
    print(f"{d}: predicted {p1!r} vs {pa!r} ({'equal' if p1 == pa else 'DIFFERENT'}), actual {a1!r} vs {aa!r} ({'equal' if a1 == aa else 'DIFFERENT'})")
same = runs(serial) == runs(auto)
print(f"every run's recorded loss equal: {'yes' if same else 'NO'} ({len(runs(serial))} runs)")
PY
