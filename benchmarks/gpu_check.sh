#!/usr/bin/env bash
# The torch backend on a CUDA GPU, once (issue 11 §2): the proof of the torch kernels against
# the NumPy kernels and central differences on cuda, `matcalc train --backend torch --device
# cuda` on the digits, and benchmarks/backends.py on cuda. For a machine with torch, jax, numpy
# and sympy already installed and no network: nothing is installed, matcalc runs from this
# tree. About 2–3 minutes; every part has its own time limit (255 s in all). Results:
# $OUT/gpu.txt.
#
#     OUT=/some/folder bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-.}
mkdir -p "$OUT"
LOG="$OUT/gpu.txt"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export MATCALC_CACHE="${TMPDIR:-/tmp}/matcalc-gpu-kernels"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }
part() {   # part SECONDS TITLE COMMAND…: run with a time limit, output and status into the log
  local limit=$1 title=$2; shift 2
  say ""; say "==== $title"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  say "---- $title: exit $rc after $((SECONDS - t0)) s$([ "$rc" = 124 ] && echo ' (time limit)')"
}

say "gpu_check $(date -u +%FT%TZ) on $(hostname)"
timeout 30 python3 - <<'PY' 2>&1 | tee -a "$LOG"
import numpy, sympy, torch
print(f"numpy {numpy.__version__}, sympy {sympy.__version__}, torch {torch.__version__}, "
      f"cuda available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    print("device:", torch.cuda.get_device_name(0))
try:
    import jax
    print(f"jax {jax.__version__}, devices {jax.devices()}")
except Exception as e:      # noqa: BLE001  (reported, not needed for the torch parts)
    print("jax:", type(e).__name__, e)
PY

part 55 "proof: torch kernels on cuda vs the NumPy kernels and central differences" \
  python3 - <<'PY'
import sys, time
sys.path.insert(0, "tests")
from backend_check import model_id, models, prove
t0, failed, ms = time.time(), [], list(models())
for m in ms:
    try:
        k = prove(m, "torch", device="cuda")
        assert str(k.DEVICE).startswith("cuda"), k.DEVICE
    except Exception as e:   # noqa: BLE001  (each model reported; the run goes on)
        failed.append(model_id(m))
        print(f"FAILED {model_id(m)}: {type(e).__name__}: {str(e)[:300]}")
print(f"{len(ms) - len(failed)}/{len(ms)} networks proven on cuda (float64 and float32) in "
      f"{time.time() - t0:.1f} s")
sys.exit(1 if failed else 0)
PY

part 40 "matcalc train --backend torch --device cuda (digits, 64-128-10 sigmoid, 10 epochs)" \
  python3 -m matcalc train --layers 64,128,10 --hidden sigmoid --epochs 10 --backend torch \
    --device cuda -o "${TMPDIR:-/tmp}/gpu_mlp.npz" --history "${TMPDIR:-/tmp}/gpu_mlp.json"

part 35 "matcalc train --backend torch --device cuda --dtype float32 (digits, relu 64-256-256-10)" \
  python3 -m matcalc train --layers 64,256,256,10 --hidden relu --epochs 10 --backend torch \
    --device cuda --dtype float32 -o "${TMPDIR:-/tmp}/gpu_mlp32.npz" --history "${TMPDIR:-/tmp}/gpu_mlp32.json"

part 95 "benchmarks/backends.py --device cuda --quick" \
  bash -c 'cd benchmarks && python3 backends.py --device cuda --quick'

say ""; say "gpu_check done at $(date -u +%FT%TZ)"
