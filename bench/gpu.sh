#!/usr/bin/env bash
# Every CUDA test and GPU benchmark in one run (< 8 minutes on one H100/H200), one table at the end.
# Run from the repository root on a machine with a CUDA GPU: bash bench/gpu.sh
# (bash bench/gpu.sh --quick checks the script itself on a CPU machine; its numbers mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if ! $PY -c "import ganbench" 2>/dev/null; then
  $PY -m pip install -q -e '.[dev]'
fi
echo "== CUDA tests"
# every test that skips without CUDA (named *gpu* or *cuda*), wherever it is
$PY -m pytest -q -rs -p no:cacheprovider tests/unit -k "gpu or cuda" || echo "CUDA TESTS FAILED"
echo "== GPU benchmarks"
$PY bench/gpu.py "$@"
echo "== data-parallel scaling (torchrun on 1, 2, ... of this machine's GPUs)"
if [ "${1:-}" != "--quick" ]; then
  $PY bench/ddp_scaling.py --steps 100 || echo "DDP SCALING FAILED"
fi
