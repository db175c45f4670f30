#!/usr/bin/python3
"""PyTorch side of bench/compare_train.sh: the same models (kuangliu/pytorch-cifar conventions, as
whittle builds them), the same random CIFAR-shaped batches, the same loop and timing as
bench/train_bench.cc. Run it with Debian's python3-torch (1.13, the same LibTorch build):

    /usr/bin/python3 bench/train_bench.py ARCH [BATCH=128] [STEPS=5] [THREADS=2]

Prints one JSON line. Allocator tuning is left to the caller (GLIBC_TUNABLES).
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """kuangliu's ResNet18; `w` is the base width (whittle's `model resnet18 width: w`)."""

    def __init__(self, classes=10, channels=3, w=64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        layers, cin = [], w
        for i, planes in enumerate([w, 2 * w, 4 * w, 8 * w]):
            blocks = []
            for b in range(2):
                blocks.append(BasicBlock(cin, planes, 2 if i > 0 and b == 0 else 1))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(8 * w, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


class Bottleneck(nn.Module):
    def __init__(self, cin, k):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * k, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * k)
        self.conv2 = nn.Conv2d(4 * k, k, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, k=12, blocks=(6, 12, 24, 16), reduction=0.5, classes=10):
        super().__init__()
        planes = 2 * k
        self.conv1 = nn.Conv2d(3, planes, 3, padding=1, bias=False)
        stages = []
        for i, n in enumerate(blocks):
            layers = []
            for _ in range(n):
                layers.append(Bottleneck(planes, k))
                planes += k
            stages.append(nn.Sequential(*layers))
            if i + 1 < len(blocks):
                out = int(planes * reduction)
                stages.append(Transition(planes, out))
                planes = out
        self.features = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(planes)
        self.linear = nn.Linear(planes, classes)

    def forward(self, x):
        out = self.features(self.conv1(x))
        return self.linear(F.adaptive_avg_pool2d(F.relu(self.bn(out)), 1).flatten(1))


MODELS = {"resnet18": ResNet18, "densenet_cifar": DenseNet}


def main():
    arch = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    torch.manual_seed(0)
    net = MODELS[arch]()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    ms = []
    for i in range(steps + 1):  # step 0 warms oneDNN's primitive cache up
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        if i > 0:
            ms.append((time.perf_counter() - t0) * 1000)
    med = sorted(ms)[len(ms) // 2]
    print(json.dumps({"side": "pytorch", "arch": arch, "batch": batch, "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in net.parameters()),
                      "step_ms": [round(m, 1) for m in ms], "images_per_s": round(batch / (med / 1000), 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
