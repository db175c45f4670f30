#!/usr/bin/env python3
"""Load a model written by a recipe's `export "PATH"` into PyTorch and measure its test accuracy.

    python3 scripts/whittle_export.py model.pt --data DIR

DIR holds the test set: CIFAR-10's `test_batch.bin`, or Fashion-MNIST's `t10k-images-idx3-ubyte.gz`
and `t10k-labels-idx1-ubyte.gz`. The export is a dict (see docs/compression.md, "Export"): `arch`, `params`,
`input`, `mean`/`std`, `channels` (each conv/linear weight's shape, a slimmed model's own),
`quantization` and `state_dict` (kuangliu/pytorch-cifar names; quantized weights as their float
values, pruned weights zero). This file rebuilds two of the architectures from those shapes,
small_cnn (the quick start's) and ResNet18/34 (kuangliu's); the others follow the same pattern.
"""
import argparse, gzip, os, sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(shape, stride=1, bias=False):
    out, inp, k, _ = shape
    return nn.Conv2d(inp, out, k, stride=stride, padding=k // 2, bias=bias)


class SmallCnn(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1, self.bn1 = conv(ch["conv1"]), nn.BatchNorm2d(ch["conv1"][0])
        self.conv2, self.bn2 = conv(ch["conv2"]), nn.BatchNorm2d(ch["conv2"][0])
        self.fc1 = nn.Linear(ch["fc1"][1], ch["fc1"][0])
        self.fc2 = nn.Linear(ch["fc2"][1], ch["fc2"][0])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class BasicBlock(nn.Module):
    def __init__(self, ch, name, stride):
        super().__init__()
        self.conv1 = conv(ch[name + ".conv1"], stride)
        self.bn1 = nn.BatchNorm2d(ch[name + ".conv1"][0])
        self.conv2 = conv(ch[name + ".conv2"])
        self.bn2 = nn.BatchNorm2d(ch[name + ".conv2"][0])
        self.shortcut = nn.Sequential()
        if name + ".shortcut.0" in ch:
            self.shortcut = nn.Sequential(conv(ch[name + ".shortcut.0"], stride), nn.BatchNorm2d(ch[name + ".shortcut.0"][0]))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, ch, blocks):
        super().__init__()
        self.conv1, self.bn1 = conv(ch["conv1"]), nn.BatchNorm2d(ch["conv1"][0])
        for i, n in enumerate(blocks):
            layer = [BasicBlock(ch, f"layer{i + 1}.{b}", 2 if i > 0 and b == 0 else 1) for b in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.n = len(blocks)
        self.linear = nn.Linear(ch["linear"][1], ch["linear"][0])

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.n):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(export):
    ch = {k: list(v) for k, v in export["channels"].items()}
    arch = export["arch"]
    if arch == "small_cnn":
        return SmallCnn(ch)
    if arch in ("resnet18", "resnet34"):
        return ResNet(ch, [2, 2, 2, 2] if arch == "resnet18" else [3, 4, 6, 3])
    sys.exit(f"this example rebuilds small_cnn and resnet18/34, not {arch}")


def raw_test_set(root, cifar10):
    """The test images as float NCHW in [0, 1], and their labels."""
    if cifar10:
        raw = np.fromfile(os.path.join(root, "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)
        y, x = raw[:, 0].astype(np.int64), raw[:, 1:].reshape(-1, 3, 32, 32)
    else:
        with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)


def test_set(export, root):
    x, y = raw_test_set(root, export["dataset"] == "cifar10")
    if export["mean"]:
        mean = torch.tensor(export["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(export["std"]).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export")
    ap.add_argument("--data", required=True, help="folder of the test set")
    args = ap.parse_args()
    export = torch.load(args.export)
    model = build(export)
    model.load_state_dict(export["state_dict"])  # strict: every name and shape must match
    model.eval()
    x, y = test_set(export, args.data)
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    print(f"{export['arch']}: test accuracy {(pred == y).float().mean().item():.4f} on {len(y)} images")


if __name__ == "__main__":
    main()
