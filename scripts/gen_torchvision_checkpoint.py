#!/usr/bin/env python3
"""Writes a PyTorch state dict as safetensors, plus a fixed input and the model's eval-mode logits,
for trady4j's loading tests (BatchNorm folding, parameter names, forward pass).

    /usr/bin/python3 scripts/gen_torchvision_checkpoint.py MODEL OUT_DIR [--classes N] [--width W]
        [--resolution R] [--batch B] [--seed S] [--half]

MODEL: mobilenet_v2 or resnet18/34/50 (torchvision), or mbv2-w0.35 / mcunet-in1 / proxyless-w0.3 (a
small re-implementation with the module tree and names of MIT's ProxylessNASNets, built from
java/src/main/resources/io/trady4j/models/paper-models.json; the mcunet package is not needed).

Writes OUT_DIR/NAME.safetensors (the state dict, num_batches_tracked included as I64) and
OUT_DIR/NAME.expected.safetensors (input [B,3,R,R] and logits [B,N], F32). NAME is MODEL, with
-wW for a width other than 1. BatchNorm parameters and running statistics are randomised so
that folding them matters. --half stores the float tensors as F16 (weights are rounded to F16
before the logits are computed, so the expectation stays exact).

Needs only torch, torchvision and numpy (no safetensors package: the format is written here).
"""
import argparse
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_JSON = os.path.join(ROOT, "java/src/main/resources/io/trady4j/models/paper-models.json")


def save_safetensors(path, tensors, metadata=None):
    """The safetensors format: u64 LE header length, JSON header, little-endian data."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32"}[t.dtype]
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------- MIT ProxylessNASNets module tree

def conv_bn_act(cin, cout, k, s, groups, eps, act):
    m = OrderedDict([("conv", nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False)),
                     ("bn", nn.BatchNorm2d(cout, eps=eps))])
    if act:
        m["act"] = nn.ReLU6(inplace=True)
    return nn.Sequential(m)


class MBInvertedConvLayer(nn.Module):
    def __init__(self, cin, cout, k, s, expand, eps):
        super().__init__()
        mid = cin * expand
        self.inverted_bottleneck = conv_bn_act(cin, mid, 1, 1, 1, eps, True) if expand != 1 else None
        self.depth_conv = conv_bn_act(mid, mid, k, s, mid, eps, True)
        self.point_linear = conv_bn_act(mid, cout, 1, 1, 1, eps, False)

    def forward(self, x):
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))


class MobileInvertedResidualBlock(nn.Module):
    def __init__(self, conv, residual):
        super().__init__()
        self.mobile_inverted_conv = conv  # None: a ZeroLayer block (identity, no parameters)
        self.residual = residual

    def forward(self, x):
        if self.mobile_inverted_conv is None:
            return x
        y = self.mobile_inverted_conv(x)
        return y + x if self.residual else y


class LinearLayer(nn.Module):
    def __init__(self, fin, fout, bias):
        super().__init__()
        self.linear = nn.Linear(fin, fout, bias)

    def forward(self, x):
        return self.linear(x)


class ProxylessNASNets(nn.Module):
    def __init__(self, desc, classes):
        super().__init__()
        eps = desc["bn_eps"]
        out, k, s = desc["first_conv"]
        self.first_conv = conv_bn_act(desc["in_ch"], out, k, s, 1, eps, True)
        c = out
        blocks = []
        dropped = set(desc.get("zero_blocks_dropped") or [])
        for e, k, s, o, r in desc["blocks"]:
            while len(blocks) in dropped:
                blocks.append(MobileInvertedResidualBlock(None, True))
            blocks.append(MobileInvertedResidualBlock(MBInvertedConvLayer(c, o, k, s, e, eps), bool(r)))
            c = o
        self.blocks = nn.ModuleList(blocks)
        fm = desc.get("feature_mix")
        self.feature_mix_layer = conv_bn_act(c, fm, 1, 1, 1, eps, True) if fm else None
        self.classifier = LinearLayer(fm or c, classes, desc["classifier_bias"])

    def forward(self, x):
        x = self.first_conv(x)
        for b in self.blocks:
            x = b(x)
        if self.feature_mix_layer is not None:
            x = self.feature_mix_layer(x)
        return self.classifier(x.mean(3).mean(2))


# ----------------------------------------------------------------

def build(model, classes, width):
    if model == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(width_mult=width, num_classes=classes)
    if model in ("resnet18", "resnet34", "resnet50"):
        if width != 1.0:
            sys.exit("resnets take no width")
        return getattr(torchvision.models, model)(num_classes=classes)
    with open(PAPER_JSON) as f:
        paper = json.load(f)
    if model in paper and not model.startswith("_"):
        if width != 1.0:
            sys.exit(model + " takes no width")
        return ProxylessNASNets(paper[model], classes)
    sys.exit("unknown model " + model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--half", action="store_true")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    model = build(a.model, a.classes, a.width)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
        if a.half:
            for t in model.state_dict().values():
                if t.is_floating_point():
                    t.copy_(t.half().float())
    model.eval()
    x = torch.randn(a.batch, 3, a.resolution, a.resolution)
    with torch.no_grad():
        logits = model(x)

    name = a.model + ("" if a.width == 1.0 else "-w%g" % a.width)
    os.makedirs(a.out_dir, exist_ok=True)
    sd = OrderedDict((k, v.half() if a.half and v.is_floating_point() else v) for k, v in model.state_dict().items())
    meta = {"format": "pt", "model": a.model, "width": "%g" % a.width, "classes": str(a.classes),
            "seed": str(a.seed), "torch": torch.__version__, "torchvision": torchvision.__version__}
    save_safetensors(os.path.join(a.out_dir, name + ".safetensors"), sd, meta)
    save_safetensors(os.path.join(a.out_dir, name + ".expected.safetensors"),
                     OrderedDict([("input", x), ("logits", logits)]),
                     {"resolution": str(a.resolution)})
    print("%s: %d tensors, %d parameters; logits[0,:4] = %s" % (
        name, len(sd), sum(v.numel() for v in sd.values() if v.is_floating_point()),
        logits[0, :4].tolist()))


if __name__ == "__main__":
    main()
