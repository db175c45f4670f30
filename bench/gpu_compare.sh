#!/bin/bash
# Training speed of whittle's train stage beside a PyTorch loop, same model / batch / optimizer /
# augmentation / precision on the same device, alternating sides; images/s and peak memory for
# fastnet, ResNet18 and DenseNet-B (bench/gpu_compare.py says how each is measured).
#   bench/gpu_compare.sh [ARGS...]          on a GPU: full CIFAR-10 ($WHITTLE_DATA/cifar-10-batches-bin),
#                                           3 epochs, bf16 autocast; ARGS go to gpu_compare.py compare
#   bench/gpu_compare.sh --smoke            on a CPU: Fashion-MNIST, 256 images, narrow models (CI runs it)
# Needs a PyTorch: Debian's python3-torch (/usr/bin/python3) on the CPU, the machine's own on a GPU.
# WHITTLE=path/to/whittle picks the program (default build/runtime/whittle; scripts/gpu_build.sh's on a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-}
if [ -z "$py" ]; then
  if command -v nvidia-smi >/dev/null && python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then py=python3
  else py=/usr/bin/python3; fi
fi
$py -c 'import torch' 2>/dev/null || { echo "needs PyTorch: apt-get install python3-torch" >&2; exit 1; }
extra=()
if $py -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then extra+=(--amp); fi
exec $py bench/gpu_compare.py compare --whittle "${WHITTLE:-build/runtime/whittle}" "${extra[@]}" "$@"
