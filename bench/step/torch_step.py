#!/usr/bin/env python3
"""PyTorch's side of the training-step benchmark (issue 5, item 3), one configuration per process.

Builds the network of StepTimes' plan.json with its initial weights (weights.safetensors), then runs
the same steps as trady4j (same input, labels, selections, learning rate, plain SGD) in one of the
ways a PyTorch user would:
  masked    full backward, then every conv weight gradient is masked to the selected channels
            (what published sparse-update code does),
  selected  requires_grad only on the selected layers' weights (autograd stops below the deepest),
            gradients masked to the selected channels,
  full      full fine-tuning of every conv weight.
The classifier is trained in all three; conv biases (folded BatchNorm) are frozen, as in trady4j.
One process per configuration so that the peak resident set (CPU) or allocator peak (CUDA) belongs
to it alone. Writes one JSON object to --out.
"""
import argparse
import json
import os
import struct
import sys
import time


def read_safetensors(path, torch):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {e['dtype']}, expected F32")
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e["shape"])
    return out


def build_model(arch, torch):
    nn = torch.nn
    acts = {"none": nn.Identity, "relu": nn.ReLU, "relu6": nn.ReLU6}

    def conv(c):
        return nn.Conv2d(c["in"], c["out"], c["kernel"], c["stride"], c["padding"], c["dilation"], c["groups"], bias=True)

    class Block(nn.Module):
        def __init__(self, b):
            super().__init__()
            self.convs = nn.ModuleList(conv(c) for c in b["convs"])
            self.acts = nn.ModuleList(acts[c["activation"]]() for c in b["convs"])
            self.shortcut = conv(b["shortcut"]) if b["shortcut"] else None
            self.shortcut_act = acts[b["shortcut"]["activation"]]() if b["shortcut"] else None
            self.residual = b["residual"]
            self.after_add = acts[b["after_add"]]()
            p = b["max_pool_after"]
            self.pool = nn.MaxPool2d(p["kernel"], p["stride"], p["padding"]) if p else None

        def forward(self, x):
            h = x
            for c, a in zip(self.convs, self.acts):
                h = a(c(h))
            if self.residual:
                s = self.shortcut_act(self.shortcut(x)) if self.shortcut is not None else x
                h = self.after_add(h + s)
            return self.pool(h) if self.pool is not None else h

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(Block(b) for b in arch["blocks"])
            c = arch["classifier"]
            self.classifier = nn.Linear(c["in"], c["out"], bias=c["bias"])

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.classifier(x.mean(dim=(2, 3)))

    net = Net()
    convs = []  # in the order of arch["conv_layers"]: block convs, then the block's shortcut
    for block, b in zip(net.blocks, arch["blocks"]):
        convs += [(c["name"], m) for c, m in zip(b["convs"], block.convs)]
        if b["shortcut"]:
            convs.append((b["shortcut"]["name"], block.shortcut))
    if [n for n, _ in convs] != arch["conv_layers"]:
        raise SystemExit("plan.json: the blocks' convs do not list the conv layers in order")
    return net, [m for _, m in convs]


def load_weights(net, convs, arch, weights, torch):
    names = arch["conv_layers"]
    with torch.no_grad():
        for name, m in zip(names, convs):
            m.weight.copy_(weights[name + ".weight"])
            m.bias.copy_(weights[name + ".bias"])
        cls = arch["classifier"]["name"]
        net.classifier.weight.copy_(weights[cls + ".weight"])
        if net.classifier.bias is not None:
            net.classifier.bias.copy_(weights[cls + ".bias"])


def channel_masks(convs, channels, torch, device):
    """Per conv layer: a 0/1 mask of its weight's shape that keeps the selected input channels' columns."""
    masks = {}
    for key, chs in channels.items():
        m = convs[int(key)]
        w = m.weight
        g = m.groups
        per_group_in = w.shape[1]
        per_group_out = w.shape[0] // g
        mask = torch.zeros_like(w, device=device)
        for c in chs:
            grp = c // per_group_in
            mask[grp * per_group_out:(grp + 1) * per_group_out, c % per_group_in] = 1
        masks[int(key)] = mask
    return masks


def rss_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"/proc/self/status has no {field}")


def reset_peak_rss():
    """Resets the process's peak resident set (VmHWM) to the current one (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--variant", choices=["masked", "selected", "full"], required=True)
    ap.add_argument("--budget", required=True, help="a budget of plan.json ('full' for full fine-tuning)")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    # load the kernels' code before the baseline, so it does not count as the step's memory
    warm = torch.nn.Conv2d(3, 8, 3).to(dev)
    warm(torch.ones(1, 3, 8, 8, device=dev, requires_grad=True)).sum().backward()
    del warm
    if dev.type == "cuda":
        torch.cuda.synchronize()
    baseline_rss = rss_bytes("VmRSS")

    plan = json.load(open(a.plan))
    arch = plan["architecture"]
    weights = read_safetensors(a.weights, torch)
    entry = [b for b in plan["budgets"] if str(b["budget"]) == a.budget]
    if not entry:
        raise SystemExit(f"budget {a.budget} is not in {a.plan}")
    selections = entry[0]["selections"]
    res, classes = plan["resolution"], plan["classes"]
    n = a.batch * arch["in_channels"] * res * res
    v = torch.arange(n, dtype=torch.float64) * 0.6180339887498949
    x = (2 * (v - torch.floor(v)) - 1).float().reshape(a.batch, arch["in_channels"], res, res).to(dev)
    del v
    y = torch.tensor([(7 * b) % classes for b in range(a.batch)], dtype=torch.long, device=dev)

    net, convs = build_model(arch, torch)
    net.to(dev)
    epochs = []
    for sel in selections:
        load_weights(net, convs, arch, weights, torch)
        chosen = {} if a.variant == "full" else sel["channels"]
        masks = channel_masks(convs, chosen, torch, dev)
        for i, m in enumerate(convs):
            m.bias.requires_grad_(False)
            m.weight.requires_grad_(a.variant in ("masked", "full") or i in masks)
        for p in net.classifier.parameters():
            p.requires_grad_(True)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=plan["learning_rate"])

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            if a.variant != "full":
                for i, m in enumerate(convs):
                    if m.weight.grad is not None:
                        if i in masks:
                            m.weight.grad.mul_(masks[i])
                        else:
                            m.weight.grad.zero_()
            opt.step()
            return loss.item()

        losses = [step() for _ in range(plan["warmup_steps"])]
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        peak_reset = reset_peak_rss()
        ms = []
        for _ in range(plan["timed_steps"]):
            if dev.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                losses.append(step())
                end.record()
                end.synchronize()
                ms.append(start.elapsed_time(end))
            else:
                t0 = time.thread_time() if a.threads == 1 else time.perf_counter()
                losses.append(step())
                ms.append(((time.thread_time() if a.threads == 1 else time.perf_counter()) - t0) * 1e3)
        e = {"epoch": sel["epoch"], "losses": losses, "step_ms": ms, "median_ms": sorted(ms)[len(ms) // 2]
             if len(ms) % 2 else sum(sorted(ms)[len(ms) // 2 - 1:len(ms) // 2 + 1]) / 2}
        if dev.type == "cuda":
            e["peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
            e["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
        else:
            e["peak_rss_over_baseline_bytes"] = rss_bytes("VmHWM") - baseline_rss
            e["peak_rss_reset_after_warmup"] = peak_reset
        e["saved_tensor_bytes"] = saved_tensor_bytes(net, x, torch)
        epochs.append(e)
        print(f"torch_step: {a.variant} budget {a.budget} batch {a.batch} epoch {sel['epoch']}: "
              f"median {e['median_ms']:.1f} ms", file=sys.stderr)

    out = {"variant": a.variant, "budget": entry[0]["budget"], "batch": a.batch, "device": device_name(dev, torch),
           "torch": torch.__version__, "threads": a.threads if dev.type == "cpu" else None,
           "timer": "CUDA events around each step (loss.item() inside)" if dev.type == "cuda" else
           ("thread CPU time (1 thread: the whole step runs on this thread)" if a.threads == 1 else "wall time"),
           "baseline_rss_bytes": baseline_rss, "epochs": epochs}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


def saved_tensor_bytes(net, x, torch):
    """Bytes of the distinct non-parameter tensors autograd saves in one forward (the activations PyTorch keeps)."""
    params = {p.data_ptr() for p in net.parameters()}
    seen = {}

    def pack(t):
        ptr = t.data_ptr()
        if ptr not in params:
            seen[ptr] = max(seen.get(ptr, 0), t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    del out
    return sum(seen.values())


def device_name(dev, torch):
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    import platform
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"


if __name__ == "__main__":
    main()
