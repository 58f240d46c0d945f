#!/usr/bin/env bash
# The GPU figures of issue 12 in one prepared run, for a device machine (torch with CUDA; the checkout on
# PYTHONPATH). Usage, from the repository root: OUT=/some/folder bash benchmarks/device_session.sh
# Wheels for what the device image lacks (cvxpy, osqp, clarabel, qdldl, POT, cffi) go in .whl/ beforehand.
# Every step is time-limited and logs under $OUT; a failing step does not stop the next.
# SKIP_THROUGHPUT=1 skips the two throughput benchmarks (to rerun only the claims and lcb on the device).
set -u
OUT=${OUT:?set OUT to a folder for the logs}
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || echo "wheel install failed" >&2
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, cvxpy, ot; print('torch', torch.__version__, torch.cuda.get_device_name(0), 'cvxpy', cvxpy.__version__, 'POT', ot.__version__)" 2>&1 | tee -a "$OUT/gpu.txt"
step() { local limit=$1; shift; echo "== $* (limit ${limit}s)"; local t0=$SECONDS; timeout "$limit" "$@"; echo "== rc $? after $((SECONDS - t0)) s: $*"; }
{
[ -z "${SKIP_THROUGHPUT:-}" ] && step 150 python3 benchmarks/chain_throughput.py --device cuda --particles 1000000 --cpu-particles 50000 --profile --json "$OUT/chain_throughput.json"
step 90 python3 -m pytest -m gpu -q -p no:cacheprovider tests/
step 200 python3 -m tiltproof.cli check --device cuda --workers 4 --json "$OUT/check_cuda.json"
step 90 python3 -m tiltproof.cli check --device cpu --workers 8 --json "$OUT/check_cpu.json"  # CPU verdicts of the same code on that machine
step 10 python3 benchmarks/compare_checks.py "$OUT/check_cpu.json" "$OUT/check_cuda.json"
[ -z "${SKIP_THROUGHPUT:-}" ] && step 60 python3 benchmarks/throughput.py --json "$OUT/throughput.json"
step 240 python3 benchmarks/alignment.py --instance gmm --quick --heights 7 --device cuda --json "$OUT/alignment_gmm_quick_B7_cuda.json"
} 2>&1 | tee "$OUT/session.log"
