#!/usr/bin/python3
"""Writes a small PyTorch network, scripted with torch.jit.script, for `model torchscript path: ...`.

It is what a student's own model looks like to whittle: a plain nn.Module with convolutions,
BatchNorm, a residual addition, pooling and a linear head, saved by TorchScript. whittle's tests
make their fixture with it; it is also a template for your own network.

    /usr/bin/python3 scripts/make_scripted_model.py my_net.pt --channels 1 --classes 10 --width 16

Needs Python's torch (Debian: python3-torch). The module must take a float NCHW batch, normalised
as whittle's `data` stage gives it, and return [N, classes] logits.
"""
import argparse

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class StudentNet(nn.Module):
    def __init__(self, channels: int, classes: int, width: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.block = Block(width)
        self.down = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(2 * width)
        self.hidden = nn.Linear(2 * width, 4 * width)
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = self.block(self.stem(x))
        x = F.relu(self.bn(self.down(F.max_pool2d(x, 2))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(F.relu(self.hidden(x)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="where to write the scripted module (.pt)")
    ap.add_argument("--channels", type=int, default=3, help="input channels (3 for CIFAR-10, 1 for Fashion-MNIST)")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--width", type=int, default=16, help="channels of the first convolution")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.jit.script(StudentNet(args.channels, args.classes, args.width)).save(args.out)


if __name__ == "__main__":
    main()
