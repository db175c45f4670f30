#!/usr/bin/env python3
"""Evaluate a TorchScript export (`export "m.ts.pt" format: torchscript`) on a test set, with no
whittle code and no class definitions: the file is all it needs.

    python3 scripts/eval_torchscript.py model.ts.pt --data DIR

DIR holds the test set: CIFAR-10's `test_batch.bin`, or Fashion-MNIST's `t10k-images-idx3-ubyte.gz`
and `t10k-labels-idx1-ubyte.gz`. The module takes float NCHW images in [0, 1] and normalises them
itself (unless the recipe said `normalize: false`), so the images go in as they are.
"""
import argparse, gzip, os

import numpy as np
import torch


def test_set(root):
    cifar = os.path.join(root, "test_batch.bin")
    if os.path.exists(cifar):
        raw = np.fromfile(cifar, dtype=np.uint8).reshape(-1, 3073)
        y, x = raw[:, 0].astype(np.int64), raw[:, 1:].reshape(-1, 3, 32, 32)
    else:
        with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("module")
    ap.add_argument("--data", required=True, help="folder of the test set")
    args = ap.parse_args()
    model = torch.jit.load(args.module)
    model.eval()
    x, y = test_set(args.data)
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    print(f"test accuracy {(pred == y).float().mean().item():.4f} on {len(y)} images")


if __name__ == "__main__":
    main()
