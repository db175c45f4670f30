#!/usr/bin/python3
"""The PyTorch side of bench/airbench_compare.sh: pipelines/cifar10_90_cpu.recipe's training written as
a plain PyTorch loop, the way a student would write it from the airbench paper, on the same CIFAR-10
files and the same CPU threads. Same network (patch whitening, dirac convs, GELU, BN with a fixed
scale, a head scaled by 1/9), batch, optimizer (Nesterov SGD, BN biases at 64x the learning rate),
schedule (triangle), augmentation (translate 2 with reflected edges, alternating flip), lookahead and
test-time augmentation (flip and 1-pixel translates). Run it with Debian's python3-torch:

    /usr/bin/python3 bench/airbench_torch.py DATA_DIR [EPOCHS=10] [THREADS=2] [SEED=0] [W1 W2 W3 = 32 64 128]

CHANNELS_LAST=1 in the environment trains with channels-last tensors, as the recipe does; the
allocator is the caller's (LD_PRELOAD).

DATA_DIR holds cifar-10-batches-bin. Prints one JSON line: training seconds, images/s, the training
step's GFLOP/s (3 x the forward MACs x 2, per image), test accuracy plain and with TTA.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def read_split(folder, names):
    xs, ys = [], []
    for name in names:
        raw = torch.frombuffer(bytearray(open(os.path.join(folder, name), "rb").read()), dtype=torch.uint8).view(-1, 3073)
        ys.append(raw[:, 0].long())
        xs.append(raw[:, 1:].view(-1, 3, 32, 32))
    x = torch.cat(xs).float().div(255)
    return (x - MEAN) / STD, torch.cat(ys)


def bn(c):
    m = nn.BatchNorm2d(c, eps=1e-12, momentum=0.4)
    m.weight.requires_grad_(False)
    return m


def conv(cin, cout):
    c = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    with torch.no_grad():
        n = min(cin, cout)
        c.weight[:n].zero_()
        for i in range(n):
            c.weight[i, i, 1, 1] = 1
    return c


class Scale(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        return x * self.s


def group(cin, cout):
    return nn.Sequential(conv(cin, cout), nn.MaxPool2d(2), bn(cout), nn.GELU(), conv(cout, cout), bn(cout), nn.GELU())


def network(w1, w2, w3):
    return nn.Sequential(nn.Conv2d(3, 24, 2, padding=0, bias=True), nn.GELU(), group(24, w1), group(w1, w2), group(w2, w3),
                         nn.MaxPool2d(3), nn.Flatten(), nn.Linear(w3, 10, bias=False), Scale(1 / 9))


def whiten(layer, images, eps=5e-4):
    k = layer.weight.shape[-1]
    p = images.double().unfold(2, k, 1).unfold(3, k, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3 * k * k)
    values, vectors = torch.linalg.eigh(p.t() @ p / p.shape[0])
    w = (vectors.flip(1).t() / (values.flip(0).clamp_min(0) + eps).sqrt().unsqueeze(1)).reshape(-1, 3, k, k).float()
    with torch.no_grad():
        layer.weight.copy_(torch.cat([w, -w]))
        layer.bias.zero_()
    layer.weight.requires_grad_(False)


def translate(x, pad, gen):
    n = x.shape[0]
    padded = F.pad(x, (pad,) * 4, mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for a in range(2 * pad + 1):
        for b in range(2 * pad + 1):
            sel = ((dy == a) & (dx == b)).nonzero().flatten()
            if len(sel):
                out[sel] = padded[sel, :, a:a + 32, b:b + 32]
    return out


def macs_per_image(net):
    total = [0]

    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            total[0] += o[0].numel() * m.weight[0].numel()
        elif isinstance(m, nn.Linear):
            total[0] += m.weight.numel()
    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    for h in hs:
        h.remove()
    return total[0]


def predict(net, x, tta):
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            b = x[i:i + 1000]
            views = lambda v: net(v) + net(v.flip(3)) if tta else net(v)
            if not tta:
                out.append(net(b))
                continue
            plain = views(b) / 2
            p = F.pad(b, (1,) * 4, mode="reflect")
            shifted = (views(p[:, :, 0:32, 0:32]) + views(p[:, :, 2:34, 2:34])) / 4
            out.append(0.5 * plain + 0.5 * shifted)
    return torch.cat(out)


def main():
    data = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    widths = [int(a) for a in sys.argv[5:8]] if len(sys.argv) > 7 else [32, 64, 128]
    channels_last = os.environ.get("CHANNELS_LAST") == "1"
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    folder = os.path.join(data, "cifar-10-batches-bin")
    train_x, train_y = read_split(folder, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test_x, test_y = read_split(folder, ["test_batch.bin"])
    net = network(*widths)
    whiten(net[0], train_x[:5000])
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    batch, lr, momentum, wd, bias_scale = 1024, 1.5, 0.85, 1.33e-3, 64
    norm_biases = [m.bias for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    ids = {id(p) for p in norm_biases}
    others = [p for p in net.parameters() if p.requires_grad and id(p) not in ids]
    opt = torch.optim.SGD([{"params": norm_biases, "lr": lr * bias_scale, "weight_decay": wd / bias_scale},
                           {"params": others, "lr": lr, "weight_decay": wd}], momentum=momentum, nesterov=True)
    base = [lr * bias_scale, lr]
    steps_per_epoch = math.ceil(len(train_x) / batch)
    total = epochs * steps_per_epoch
    slow = [t.detach().clone() for t in net.state_dict().values()]
    gen = torch.Generator().manual_seed(seed)
    flip_first = torch.rand(len(train_x), generator=gen) < 0.5
    step = 0
    seconds = 0.0
    for epoch in range(epochs):
        net[0].bias.requires_grad_(epoch < 3)
        net.train()
        start = time.perf_counter()
        order = torch.randperm(len(train_x), generator=gen)
        for i in range(0, len(train_x), batch):
            idx = order[i:i + batch]
            x = translate(train_x[idx], 2, gen)
            flip = flip_first[idx] ^ (epoch % 2 == 1)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            t = step / total
            f = 0.2 + (1 - 0.2) * t / 0.23 if t < 0.23 else 1 + (0.07 - 1) * (t - 0.23) / 0.77
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * f
            loss = F.cross_entropy(net(x), train_y[idx], label_smoothing=0.2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % 5 == 0:
                a = 0.95 ** 5 * (step / total) ** 3
                with torch.no_grad():
                    for s, v in zip(slow, net.state_dict().values()):
                        if v.is_floating_point():
                            s.lerp_(v, 1 - a)
                            v.copy_(s)
        seconds += time.perf_counter() - start
    with torch.no_grad():
        for s, v in zip(slow, net.state_dict().values()):
            if v.is_floating_point():
                v.copy_(s)
    plain = (predict(net, test_x, False).argmax(1) == test_y).float().mean().item()
    tta = (predict(net, test_x, True).argmax(1) == test_y).float().mean().item()
    images = epochs * len(train_x)
    macs = macs_per_image(net)
    print(json.dumps({"side": "pytorch", "channels_last": channels_last, "epochs": epochs, "threads": threads, "seed": seed, "widths": widths,
                      "train_seconds": round(seconds, 2), "images_per_s": round(images / seconds, 1),
                      "gflops": round(images * macs * 2 * 3 / seconds / 1e9, 1), "accuracy": plain, "tta_accuracy": tta}))


if __name__ == "__main__":
    main()
