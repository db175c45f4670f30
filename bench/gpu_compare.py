#!/usr/bin/python3
"""Training speed, whittle beside PyTorch, on the same machine and device (bench/gpu_compare.sh).

The same model (checked: the same parameter count), batch, optimizer, augmentation (crop + flip, made
on the device from a device-resident data set, as whittle makes them) and mixed precision, trained by
`whittle run` (its train stage, as users run it) and by the PyTorch loop below, alternating sides so
that the machine's noise hits both alike. Throughput is images per second of the training loop over
the epochs after the first (the first warms cuDNN / oneDNN up); whittle's stage wall time (epoch
checkpoints included) is shown beside it. Peak memory: of the GPU (nvidia-smi, the process's whole
use) on CUDA, the peak RSS on the CPU.

    gpu_compare.py compare [--smoke] [--repeats N] [--epochs E] [--subset N] [--archs a,b] [--whittle BIN] [--data DIR]
    gpu_compare.py pytorch ARCH ...   one side's run, one JSON line (what `compare` calls)
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_bench import DenseNet, ResNet18  # noqa: E402  the kuangliu-convention models, as whittle builds them


class ConvBn(nn.Module):
    def __init__(self, cin, cout, pool=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.pool = pool

    def forward(self, x):
        x = self.conv(x)
        if self.pool:
            x = F.max_pool2d(x, 2)
        return F.relu(self.bn(x))


class FastNet(nn.Module):
    """whittle's fastnet: a stem, three stages (conv, max-pool, BN, ReLU; conv, BN, ReLU) at w, 2w, 4w,
    global max-pool, a linear layer without bias, logits / 8."""

    def __init__(self, channels=3, w=32, classes=10):
        super().__init__()
        units, cin = [ConvBn(channels, w)], w
        for i in range(3):
            c = w << i
            units += [ConvBn(cin, c, pool=True), ConvBn(c, c)]
            cin = c
        self.units = nn.Sequential(*units)
        self.linear = nn.Linear(cin, classes, bias=False)

    def forward(self, x):
        return self.linear(F.adaptive_max_pool2d(self.units(x), 1).flatten(1)) * 0.125


# Each bench model: (whittle's `model` line, the PyTorch module), at full size and in the smoke setting.
def models(smoke, channels):
    w18, wfast, growth = (8, 8, 4) if smoke else (64, 32, 8)
    blocks = [6, 10, 20, 12]

    return {
        "fastnet": (f"model fastnet width: {wfast}", lambda: FastNet(channels, wfast)),
        "resnet18": ("model resnet18" + (f" width: {w18}" if w18 != 64 else ""), lambda: ResNet18(channels=channels, w=w18)),
        "densenet_b": (f"model densenet growth: {growth} blocks: {blocks}", lambda: DenseNetIn(channels, growth, blocks)),
    }


def DenseNetIn(channels, k, blocks):
    net = DenseNet(k=k, blocks=tuple(blocks))
    if channels != 3:
        net.conv1 = nn.Conv2d(channels, 2 * k, 3, padding=1, bias=False)
    return net


# ---- data: CIFAR-10's binary files, or Fashion-MNIST's idx files (the smoke setting) ----------------

def load_cifar(root, subset):
    xs, ys = [], []
    for i in range(1, 6):
        raw = torch.frombuffer(bytearray(open(os.path.join(root, f"data_batch_{i}.bin"), "rb").read()), dtype=torch.uint8).view(-1, 3073)
        ys.append(raw[:, 0].long())
        xs.append(raw[:, 1:].reshape(-1, 3, 32, 32))
    return torch.cat(xs)[: subset or None], torch.cat(ys)[: subset or None]


def load_fashion(root, subset):
    img = gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz")).read()
    lab = gzip.open(os.path.join(root, "train-labels-idx1-ubyte.gz")).read()
    x = torch.frombuffer(bytearray(img[16:]), dtype=torch.uint8).view(-1, 1, 28, 28)
    y = torch.frombuffer(bytearray(lab[8:]), dtype=torch.uint8).long()
    return x[: subset or None], y[: subset or None]


def augment(x, pad, gen):
    """Crop with zero padding and a horizontal flip, per image, on whole batches (as whittle does)."""
    n, _, h, w = x.shape
    dev = x.device
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev, non_blocking=True)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev, non_blocking=True)
    flip = (torch.rand(n, generator=gen) < 0.5).to(dev, non_blocking=True)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (dy.view(n, 1) + torch.arange(h, device=dev)).view(n, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=dev)).view(n, 1, w)
    out = padded.permute(0, 2, 3, 1)[torch.arange(n, device=dev).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2)
    return torch.where(flip.view(n, 1, 1, 1), out.flip(3), out).contiguous()


def pytorch_side(a):
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cpu":
        torch.set_num_threads(a.threads)
    x, y = (load_fashion if a.dataset == "fashion_mnist" else load_cifar)(a.data, a.subset)
    x = x.float().div_(255)
    mean, std = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)
    x, y = ((x - mean) / std).to(dev), y.to(dev)  # resident on the device
    torch.manual_seed(0)
    net = models(a.smoke, x.shape[1])[a.arch][1]().to(dev)
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(1)
    n, seconds = x.shape[0], []
    for epoch in range(a.epochs):
        net.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(dev)
        for b in range(0, n, a.batch):
            idx = perm[b: b + a.batch]
            xb = augment(x.index_select(0, idx), 4 if x.shape[-1] == 32 else 2, gen)
            if a.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            if a.amp and dev.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = F.cross_entropy(net(xb), y.index_select(0, idx))
            else:
                loss = F.cross_entropy(net(xb), y.index_select(0, idx))
            loss.backward()
            opt.step()
        loss.item()  # waits for the device
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({"side": "pytorch", "arch": a.arch, "params": sum(p.numel() for p in net.parameters()), "epoch_seconds": seconds,
                      "images": n}))


# ---- the comparison ------------------------------------------------------------------------------

def measured(cmd):
    """Runs a command; its exit code, output, errors and peak RSS (MB), that process's own."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss / 1024


class GpuMemory:
    """The largest GPU memory nvidia-smi sees in use by compute processes while it runs (MiB)."""

    def __init__(self):
        self.peak, self.proc = 0, None
        if torch.cuda.is_available():
            self.proc = subprocess.Popen(["nvidia-smi", "--query-compute-apps=used_memory", "--format=csv,noheader,nounits", "-lms", "100"],
                                         stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip().isdigit():
                self.peak = max(self.peak, int(line))

    def stop(self):
        if self.proc:
            time.sleep(0.3)
            self.proc.terminate()
        return self.peak


def whittle_side(a, recipe_model, work):
    amp = a.amp and torch.cuda.is_available()
    data = (f'data fashion_mnist root: "{a.data}"' if a.dataset == "fashion_mnist" else f'data cifar10 root: "{a.data}"') + \
        f" subset: {a.subset} test_subset: 256 augment: [crop(pad: {2 if a.dataset == 'fashion_mnist' else 4}), flip]"
    recipe = (f"recipe bench\n{data}\n{recipe_model}\n"
              f"train {a.epochs} epochs optimizer: sgd(lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 5e-4) "
              f"schedule: constant() batch: {a.batch}" + (" precision: amp" if amp else "") + (" channels_last: true" if a.channels_last else "") + "\n")
    path = os.path.join(work, "bench.recipe")
    open(path, "w").write(recipe)
    cache = tempfile.mkdtemp(dir=work)
    cmd = [a.whittle, "run", "--format", "json", "--cache", cache, path] + ([] if torch.cuda.is_available() else ["--threads", str(a.threads)])
    t0 = time.perf_counter()
    code, stdout, stderr, rss = measured(cmd)
    if code != 0:
        sys.exit(f"whittle failed:\n{stdout}\n{stderr}")
    run = json.loads(stdout[stdout.index("{"):])
    train = next(s for s in run["stages"] if s["kind"] == "train")
    log = open(os.path.join(cache, "objects", train["key"][:2], train["key"], "log.txt")).read()
    secs = [float(l.split("(training ")[1].rstrip("s)\n")) for l in log.splitlines() if l.startswith("epoch ") and "(training " in l]
    model = next(s for s in run["stages"] if s["kind"] == "model")
    subprocess.run(["rm", "-rf", cache])
    return {"side": "whittle", "params": int(model["metrics"]["params"]), "epoch_seconds": secs, "images": int(run_images(run, a)),
            "stage_seconds": train["seconds"], "rss_mb": rss, "wall": time.perf_counter() - t0}


def run_images(run, a):
    data = next(s for s in run["stages"] if s["kind"] == "data")
    return data["metrics"].get("train_images", a.subset)


def compare(a):
    if a.smoke:
        a.dataset, a.data = "fashion_mnist", a.data or "/usr/share/datasets/fashion-mnist"
        a.epochs, a.subset, a.batch = a.epochs or 2, a.subset or 256, 64
    else:
        a.dataset = "cifar10"
        a.data = a.data or os.path.join(os.environ.get("WHITTLE_DATA", "../shared/data"), "cifar-10-batches-bin")
        a.epochs, a.subset = a.epochs or 3, a.subset or 0
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {a.threads} threads"
    print(f"training speed on {device}: {a.dataset} ({a.subset or 'all'} images), {a.epochs} epochs, "
          f"{'bf16 autocast, ' if a.amp and torch.cuda.is_available() else ''}{'channels-last, ' if a.channels_last else ''}medians of {a.repeats}",
          flush=True)
    me = os.path.abspath(__file__)
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for arch in a.archs.split(","):
            line = models(a.smoke, 1 if a.dataset == "fashion_mnist" else 3)[arch][0]
            rows = {"whittle": [], "pytorch": []}
            batch = a.batch or {"fastnet": 512, "resnet18": 256, "densenet_b": 128}[arch]
            for _ in range(a.repeats):
                for side in ("whittle", "pytorch"):
                    mem = GpuMemory()
                    sub = argparse.Namespace(**{**vars(a), "batch": batch})
                    if side == "whittle":
                        r = whittle_side(sub, line, work)
                    else:
                        args = [sys.executable, me, "pytorch", arch, "--dataset", a.dataset, "--data", a.data, "--subset", str(a.subset),
                                "--epochs", str(a.epochs), "--batch", str(batch), "--threads", str(a.threads)] + \
                               (["--smoke"] if a.smoke else []) + (["--amp"] if a.amp else []) + (["--channels-last"] if a.channels_last else [])
                        code, stdout, stderr, rss = measured(args)
                        if code != 0:
                            sys.exit(f"the PyTorch side failed:\n{stderr}")
                        r = json.loads(stdout.strip().splitlines()[-1])
                        r["rss_mb"] = rss
                    r["gpu_mib"] = mem.stop()
                    timed = r["epoch_seconds"][1:] or r["epoch_seconds"]
                    r["images_per_s"] = r["images"] * len(timed) / sum(timed)
                    rows[side].append(r)
            if rows["whittle"][0]["params"] != rows["pytorch"][0]["params"]:
                print(f"  {arch}: NOT the same model: whittle {rows['whittle'][0]['params']} parameters, PyTorch {rows['pytorch'][0]['params']}")
                failed = True
                continue
            med = {s: (statistics.median(r["images_per_s"] for r in rs), statistics.median(r["gpu_mib"] or r["rss_mb"] for r in rs)) for s, rs in rows.items()}
            stage = statistics.median(r["images"] * a.epochs / r["stage_seconds"] for r in rows["whittle"])
            unit = "GPU MiB" if torch.cuda.is_available() else "RSS MB"
            print(f"  {arch:10s} ({line[6:]}, {rows['whittle'][0]['params']:,} parameters, batch {batch}):")
            print(f"    whittle {med['whittle'][0]:9.1f} images/s (stage, checkpoints included: {stage:.1f})  peak {med['whittle'][1]:7.0f} {unit}")
            print(f"    pytorch {med['pytorch'][0]:9.1f} images/s                                peak {med['pytorch'][1]:7.0f} {unit}")
            print(f"    whittle / pytorch: {med['whittle'][0] / med['pytorch'][0]:.2f}x images/s (target >= 1.00), "
                  f"{med['whittle'][1] / med['pytorch'][1]:.2f}x memory", flush=True)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["compare", "pytorch"])
    p.add_argument("arch", nargs="?")
    p.add_argument("--smoke", action="store_true", help="the CPU setting CI runs: Fashion-MNIST, 256 images, narrow models")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--subset", type=int, default=0)
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--archs", default="fastnet,resnet18,densenet_b")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--data", default="")
    p.add_argument("--whittle", default="build/runtime/whittle")
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA (whittle's precision: amp)")
    p.add_argument("--channels-last", dest="channels_last", action="store_true")
    a = p.parse_args()
    if a.mode == "pytorch":
        pytorch_side(a)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main())
