#!/usr/bin/env python3
"""Evaluate a TorchScript export (`export "m.ts.pt" format: torchscript`) on a test set, with no
whittle code and no class definitions: the file is all it needs.

    python3 scripts/eval_torchscript.py model.ts.pt --data DIR

DIR holds the test set: CIFAR-10's `test_batch.bin`, or Fashion-MNIST's `t10k-images-idx3-ubyte.gz`
and `t10k-labels-idx1-ubyte.gz`. The module takes float NCHW images in [0, 1] and normalises them
itself (unless the recipe said `normalize: false`), so the images go in as they are.
"""
import argparse, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whittle_export import raw_test_set  # noqa: E402  (the same reader of the test sets)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("module")
    ap.add_argument("--data", required=True, help="folder of the test set")
    args = ap.parse_args()
    model = torch.jit.load(args.module)
    model.eval()
    x, y = raw_test_set(args.data, os.path.exists(os.path.join(args.data, "test_batch.bin")))
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    print(f"test accuracy {(pred == y).float().mean().item():.4f} on {len(y)} images")


if __name__ == "__main__":
    main()
