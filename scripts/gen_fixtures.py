#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that TorchFixtureTest checks the backends against.

Run with Debian's PyTorch (1.13 CPU):  /usr/bin/python3 scripts/gen_fixtures.py

Every case is seeded from its own name, so the output is byte-for-byte reproducible and adding
or editing a case leaves the other files unchanged. Inputs are drawn as float32 and stored as
float32; references are computed in float64 from those float32 values (upcast), then rounded to
float32, so a reference is exact (to float32 rounding) for the stored inputs.

One safetensors file per case in java/src/test/resources/fixtures/. The file's __metadata__ says
what the case is ("kind") and holds its parameters as strings; the tensor names are the ones the
op runner (docs/OPS.md) uses. There is no python safetensors package here, so the format is
written directly: an 8-byte little-endian header length, the JSON header (padded with spaces to a
multiple of 8), then the raw little-endian data.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "java", "src", "test", "resources", "fixtures")


# ---------------------------------------------------------------------------- safetensors writing

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array of float32 or int32); metadata: dict of str -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            dtype = "F32"
        elif arr.dtype == np.int32:
            dtype = "I32"
        else:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- helpers

class Case:
    """Random source for one case, seeded from the case name."""

    def __init__(self, name):
        self.name = name
        seed = zlib.crc32(name.encode("utf-8"))
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.RandomState(seed % (2 ** 32))

    def randn(self, *shape, scale=1.0):
        """float32 values (stored as inputs), returned as a float64 tensor holding exactly them."""
        t = (torch.randn(*shape, generator=self.gen, dtype=torch.float64) * scale).float()
        return t.double()

    def selection(self, channels, kind):
        if kind == "all":
            return np.arange(channels, dtype=np.int32)
        if kind == "one":
            return np.array([self.rng.randint(channels)], dtype=np.int32)
        if kind == "random":
            if channels <= 2:
                n = 1
            else:
                n = self.rng.randint(2, channels)  # 2 .. channels-1: a proper subset
            return np.sort(self.rng.choice(channels, size=n, replace=False)).astype(np.int32)
        raise ValueError(kind)


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def act_fn(name):
    return {"none": lambda z: z, "relu": F.relu, "relu6": F.relu6}[name]


def sparse_conv_grad(dw, idx, groups):
    """dwSel[o, j] = dW[group(S_j)*C'/g + o, S_j mod C/g]: [C'/g, |S|, D, D]; depthwise (C'=C=g): [|S|, 1, D, D]."""
    cout, cg, d, _ = dw.shape
    mg = cout // groups
    out = torch.empty(mg, len(idx), d, d, dtype=dw.dtype)
    for j, c in enumerate(idx.tolist()):
        g, local = divmod(c, cg)
        out[:, j] = dw[g * mg:(g + 1) * mg, local]
    cin = cg * groups
    if groups == cin and cout == cin and groups > 1:
        out = out.reshape(len(idx), 1, d, d)
    return out


def sparse_slice_positions(wshape, idx, groups):
    """Flat positions in W of the sparse layout's elements, in that layout's memory order."""
    if len(wshape) == 2:
        wshape = (wshape[0], wshape[1], 1, 1)
    cout, cg, d, _ = wshape
    mg = cout // groups
    pos = np.arange(int(np.prod(wshape))).reshape(cout, cg, d, d)
    out = np.empty((mg, len(idx), d, d), dtype=np.int64)
    for j, c in enumerate(idx.tolist()):
        g, local = divmod(c, cg)
        out[:, j] = pos[g * mg:(g + 1) * mg, local]
    return out.reshape(-1)


# ---------------------------------------------------------------------------- conv2d

# (batch, C, C', H, W, kernel, stride, padding, dilation, groups, bias, act, selection)
# groups "dw" = depthwise (groups = C = C'), "dw2" = depthwise with channel multiplier 2 (C' = 2C).
CONV_CASES = [
    # 1x1
    (1, 8, 6, 7, 7, 1, 1, 0, 1, 1, True, "relu", "random"),
    (2, 6, 4, 9, 7, 1, 2, 0, 1, 1, False, "none", "one"),
    (2, 4, 4, 5, 5, 1, 1, 1, 1, 1, True, "relu6", "all"),
    (2, 8, 6, 5, 7, 1, 1, 0, 1, 2, True, "none", "random"),
    (3, 24, 16, 3, 5, 1, 1, 0, 1, 1, False, "none", "random"),
    (2, 5, 7, 6, 6, 1, 2, 1, 1, 1, False, "relu", "random"),
    (2, 4, 4, 5, 5, 1, 1, 0, 1, "dw", True, "relu6", "random"),
    # 3x3
    (1, 3, 8, 9, 9, 3, 1, 1, 1, 1, True, "relu6", "all"),
    (2, 4, 6, 11, 9, 3, 2, 1, 1, 1, True, "relu", "random"),
    (3, 5, 4, 7, 8, 3, 1, 0, 1, 1, False, "none", "one"),
    (1, 6, 5, 10, 10, 3, 2, 0, 1, 1, False, "relu", "random"),
    (2, 4, 4, 9, 9, 3, 1, 2, 2, 1, True, "none", "random"),
    (2, 5, 6, 13, 11, 3, 2, 2, 2, 1, False, "relu6", "one"),
    (2, 8, 8, 7, 7, 3, 1, 1, 1, 2, True, "relu", "random"),
    (1, 6, 4, 9, 9, 3, 2, 1, 1, 2, False, "none", "all"),
    (2, 8, 8, 7, 5, 3, 1, 1, 1, 4, True, "none", "random"),
    (3, 4, 2, 5, 7, 3, 1, 1, 1, 2, True, "relu", "one"),
    (1, 1, 4, 5, 5, 3, 1, 1, 1, 1, True, "relu", "all"),
    (4, 16, 12, 6, 6, 3, 1, 1, 1, 1, True, "relu6", "random"),
    (2, 3, 4, 4, 4, 3, 1, 2, 1, 1, True, "none", "random"),
    (1, 2, 3, 3, 3, 3, 1, 0, 1, 1, True, "none", "all"),
    (2, 4, 3, 10, 8, 3, 3, 1, 1, 1, False, "relu", "random"),
    (2, 6, 6, 9, 9, 3, 1, 1, 1, "dw", True, "relu6", "random"),
    (2, 8, 8, 11, 11, 3, 2, 1, 1, "dw", False, "relu6", "all"),
    (1, 5, 5, 7, 7, 3, 1, 0, 1, "dw", False, "none", "one"),
    (2, 4, 4, 13, 9, 3, 2, 2, 2, "dw", True, "none", "random"),
    (4, 16, 16, 8, 8, 3, 2, 1, 1, "dw", True, "relu6", "random"),
    (3, 7, 7, 7, 7, 3, 2, 0, 1, "dw", False, "relu", "random"),
    (2, 4, 8, 7, 7, 3, 1, 1, 1, "dw2", True, "relu", "random"),
    (1, 3, 6, 9, 9, 3, 2, 1, 1, "dw2", False, "none", "one"),
    # 5x5
    (2, 4, 4, 9, 9, 5, 1, 2, 1, 1, True, "relu", "random"),
    (1, 3, 5, 11, 13, 5, 2, 2, 1, 1, False, "none", "one"),
    (2, 3, 3, 7, 9, 5, 1, 0, 1, 1, True, "relu6", "all"),
    (1, 2, 3, 11, 12, 5, 2, 0, 2, 1, False, "none", "all"),
    (2, 4, 6, 11, 11, 5, 1, 1, 2, 2, False, "relu", "random"),
    (2, 6, 6, 9, 9, 5, 1, 2, 1, "dw", True, "relu6", "random"),
    (1, 4, 4, 11, 11, 5, 2, 2, 1, "dw", False, "none", "all"),
    (2, 3, 6, 9, 9, 5, 2, 2, 1, "dw2", True, "none", "random"),
    # 7x7
    (2, 3, 4, 15, 13, 7, 2, 2, 1, 1, True, "relu", "random"),
    (1, 2, 3, 9, 9, 7, 1, 0, 1, 1, False, "none", "one"),
    (1, 4, 4, 13, 13, 7, 2, 1, 1, 2, False, "none", "all"),
    (1, 2, 2, 15, 15, 7, 1, 2, 2, 1, False, "relu", "random"),
    (2, 4, 4, 9, 11, 7, 1, 2, 1, "dw", True, "relu6", "random"),
]


def conv_cases():
    for (b, c, cout, h, w, k, s, p, dil, groups, bias, act, sel) in CONV_CASES:
        g = c if groups in ("dw", "dw2") else groups
        gname = {"dw": "dw", "dw2": "dwx2"}.get(groups) or "g%d" % groups
        name = "conv_k%d_s%d_p%d_d%d_%s_b%d_c%dto%d_%dx%d_%s_%s_sel-%s" % (
            k, s, p, dil, gname, b, c, cout, h, w, "bias" if bias else "nobias", act, sel)
        yield name, dict(batch=b, c=c, cout=cout, h=h, w=w, k=k, s=s, p=p, dil=dil, groups=g, bias=bias, act=act,
                         sel=sel)


def gen_conv(name, a):
    r = Case(name)
    c, cout, g, k = a["c"], a["cout"], a["groups"], a["k"]
    x = r.randn(a["batch"], c, a["h"], a["w"]).requires_grad_()
    fan_in = (c // g) * k * k
    # weights scaled so that pre-activations spread over several units: relu6 clips some at 6
    wt = r.randn(cout, c // g, k, k, scale=3.0 / np.sqrt(fan_in) * 1.5).requires_grad_()
    bt = r.randn(cout).requires_grad_() if a["bias"] else None
    z = F.conv2d(x, wt, bt, stride=a["s"], padding=a["p"], dilation=a["dil"], groups=g)
    y = act_fn(a["act"])(z)
    dy = r.randn(*z.shape)
    grads = torch.autograd.grad(z, [x, wt] + ([bt] if bt is not None else []), dy)
    dx, dw = grads[0], grads[1]
    idx = r.selection(c, a["sel"])
    dw_sel = sparse_conv_grad(dw, idx, g)
    x_sel = x[:, torch.from_numpy(idx.astype(np.int64))]
    tensors = [("x", f32(x)), ("w", f32(wt))]
    if bt is not None:
        tensors.append(("b", f32(bt)))
    tensors += [("y", f32(y)), ("dy", f32(dy)), ("dx", f32(dx)), ("dw", f32(dw))]
    if bt is not None:
        tensors.append(("db", f32(grads[2])))
    tensors += [("idx", idx), ("x_sel", f32(x_sel)), ("dw_sel", f32(dw_sel))]
    meta = dict(kind="conv2d", stride=a["s"], padding=a["p"], dilation=a["dil"], groups=g, act=a["act"],
                kernel=k, in_channels=c, out_channels=cout, in_height=a["h"], in_width=a["w"])
    return tensors, meta


# ---------------------------------------------------------------------------- linear

# (batch, F, O, bias, selection, x as [B,F,1,1])
LINEAR_CASES = [
    (1, 8, 5, True, "random", False),
    (4, 16, 10, False, "one", False),
    (3, 7, 3, True, "all", False),
    (8, 64, 10, True, "random", False),
    (2, 1, 1, True, "all", False),
    (5, 12, 6, True, "random", True),
]


def gen_linear(name, a):
    b, fin, o, bias, sel, four = a
    r = Case(name)
    x = r.randn(b, fin).requires_grad_()
    wt = r.randn(o, fin, scale=1.0 / np.sqrt(fin)).requires_grad_()
    bt = r.randn(o).requires_grad_() if bias else None
    y = F.linear(x, wt, bt)
    dy = r.randn(b, o)
    grads = torch.autograd.grad(y, [x, wt] + ([bt] if bt is not None else []), dy)
    idx = r.selection(fin, sel)
    tidx = torch.from_numpy(idx.astype(np.int64))
    x_sel = x[:, tidx]
    dw_sel = grads[1][:, tidx]
    xs = (b, fin, 1, 1) if four else (b, fin)
    xss = (b, len(idx), 1, 1) if four else (b, len(idx))
    tensors = [("x", f32(x).reshape(xs)), ("w", f32(wt))]
    if bt is not None:
        tensors.append(("b", f32(bt)))
    tensors += [("y", f32(y)), ("dy", f32(dy)), ("dx", f32(grads[0]).reshape(xs)), ("dw", f32(grads[1]))]
    if bt is not None:
        tensors.append(("db", f32(grads[2])))
    tensors += [("idx", idx), ("x_sel", f32(x_sel).reshape(xss)), ("dw_sel", f32(dw_sel))]
    return tensors, dict(kind="linear", in_features=fin, out_features=o)


# ---------------------------------------------------------------------------- loss, pooling, activations

SOFTMAX_CASES = [(4, 10, 1.0), (1, 3, 1.0), (7, 100, 30.0), (16, 2, 3.0)]


def gen_softmax(name, a):
    b, k, scale = a
    r = Case(name)
    z = r.randn(b, k, scale=scale).requires_grad_()
    labels = r.rng.randint(k, size=b).astype(np.int32)
    if b >= 4:  # make sure some predictions are right: set one sample's label to its arg-max
        labels[0] = int(torch.argmax(z[0]).item())
    loss = F.cross_entropy(z, torch.from_numpy(labels.astype(np.int64)))
    dz, = torch.autograd.grad(loss, [z])
    correct = int((torch.argmax(z, dim=1).numpy() == labels).sum())
    tensors = [("logits", f32(z)), ("labels", labels), ("loss", f32(loss.reshape(1))),
               ("correct", np.array([correct], dtype=np.int32)), ("dlogits", f32(dz))]
    return tensors, dict(kind="softmax_cross_entropy")


AVGPOOL_CASES = [(2, 5, 7, 7), (1, 3, 1, 1), (3, 4, 4, 6)]


def gen_avgpool(name, a):
    r = Case(name)
    x = r.randn(*a).requires_grad_()
    y = x.mean(dim=(2, 3))
    dy = r.randn(*y.shape)
    dx, = torch.autograd.grad(y, [x], dy)
    return [("x", f32(x)), ("y", f32(y)), ("dy", f32(dy)), ("dx", f32(dx))], \
        dict(kind="global_avg_pool", in_height=a[2], in_width=a[3])


# (shape, kernel, stride, padding)
MAXPOOL_CASES = [((2, 4, 11, 11), 3, 2, 1), ((1, 3, 8, 8), 3, 2, 1), ((2, 2, 7, 9), 3, 2, 1), ((1, 2, 6, 5), 2, 2, 0),
                 ((1, 1, 9, 9), 3, 1, 1)]


def gen_maxpool(name, a):
    shape, k, s, p = a
    r = Case(name)
    x = r.randn(*shape).requires_grad_()
    y, arg = F.max_pool2d(x, k, s, p, return_indices=True)
    dy = r.randn(*y.shape)
    dx, = torch.autograd.grad(y, [x], dy)
    tensors = [("x", f32(x)), ("y", f32(y)), ("argmax", arg.numpy().astype(np.int32)), ("dy", f32(dy)),
               ("dx", f32(dx))]
    return tensors, dict(kind="max_pool2d", kernel=k, stride=s, padding=p, in_height=shape[2], in_width=shape[3])


def gen_activation(name, a):
    act, shape = a
    r = Case(name)
    x = r.randn(*shape, scale=4.0)
    flat = x.view(-1)
    # the edges where the gradient switches off: exactly 0 and exactly 6 (PyTorch passes none at either)
    flat[0], flat[1], flat[2], flat[3] = 0.0, 6.0, -0.0, 6.5
    x.requires_grad_()
    y = act_fn(act)(x)
    dy = r.randn(*shape)
    dx, = torch.autograd.grad(y, [x], dy)
    return [("x", f32(x)), ("y", f32(y)), ("dy", f32(dy)), ("dx", f32(dx))], dict(kind="activation", act=act)


ACTIVATION_CASES = [("relu", (2, 3, 5, 5)), ("relu6", (2, 3, 5, 5)), ("relu6", (4, 17))]


# ---------------------------------------------------------------------------- SGD

def f32val(v):
    """The float32 nearest v, as the double torch uses and the text Java parses to the same float."""
    return float(np.float32(v))


# (shape, lr, momentum, weight decay, fresh optimizer state)
SGD_CASES = [
    ((6, 4, 3, 3), 0.1, 0.9, 5e-4, False),
    ((10, 16), 0.05, 0.9, 1e-2, True),
    ((5, 7), 0.125, 0.0, 0.0, True),
    ((8, 3), 0.1, 0.0, 4e-5, True),
]


def torch_sgd_step(param64, grad64, buf64, lr, mom, wd):
    """One torch.optim.SGD step on a float64 copy; buf64 None = fresh optimizer state."""
    p = torch.nn.Parameter(param64.clone())
    opt = torch.optim.SGD([p], lr=lr, momentum=mom, weight_decay=wd)
    if buf64 is not None:
        opt.state[p]["momentum_buffer"] = buf64.clone()
    p.grad = grad64.clone()
    opt.step()
    new_buf = opt.state[p].get("momentum_buffer") if mom > 0 else None
    return p.detach(), new_buf


def gen_sgd(name, a):
    shape, lr, mom, wd, fresh = a
    r = Case(name)
    lr, mom, wd = f32val(lr), f32val(mom), f32val(wd)
    p = r.randn(*shape)
    g = r.randn(*shape)
    buf = None if fresh or mom == 0 else r.randn(*shape)
    p_new, buf_new = torch_sgd_step(p, g, buf, lr, mom, wd)
    tensors = [("param", f32(p)), ("grad", f32(g))]
    if mom > 0:
        # the Java side keeps an explicit buffer; a fresh torch state equals a zero buffer
        tensors.append(("momentum", f32(buf if buf is not None else torch.zeros(shape, dtype=torch.float64))))
    tensors.append(("param_out", f32(p_new)))
    if mom > 0:
        tensors.append(("momentum_out", f32(buf_new)))
    return tensors, dict(kind="sgd", lr=repr(lr), momentum=repr(mom), weight_decay=repr(wd))


# (weight shape, groups, selection, lr, momentum, weight decay, fresh)
SGD_SPARSE_CASES = [
    ((6, 4, 3, 3), 1, "random", 0.1, 0.9, 5e-4, False),
    ((8, 3, 3, 3), 2, "random", 0.1, 0.9, 5e-4, False),
    ((6, 1, 3, 3), 6, "random", 0.05, 0.9, 1e-3, False),
    ((8, 1, 5, 5), 4, "random", 0.1, 0.5, 0.0, True),
    ((10, 16), 1, "random", 0.125, 0.0, 1e-2, True),
    ((4, 5, 1, 1), 1, "all", 0.1, 0.9, 5e-4, False),
    ((5, 6, 3, 3), 1, "one", 0.2, 0.0, 0.0, True),
]


def gen_sgd_sparse(name, a):
    wshape, groups, sel, lr, mom, wd, fresh = a
    r = Case(name)
    lr, mom, wd = f32val(lr), f32val(mom), f32val(wd)
    w = r.randn(*wshape)
    cin = wshape[1] * groups
    idx = r.selection(cin, sel)
    pos = torch.from_numpy(sparse_slice_positions(wshape, idx, groups))
    cout = wshape[0]
    d = wshape[2] if len(wshape) == 4 else 1
    if len(wshape) == 2:
        sel_shape = (cout, len(idx))
    elif groups == cin and cout == cin and groups > 1:
        sel_shape = (len(idx), 1, d, d)
    else:
        sel_shape = (cout // groups, len(idx), d, d)
    g = r.randn(*sel_shape)
    buf = None if fresh or mom == 0 else r.randn(*sel_shape)
    # torch.optim.SGD on the selected slice as its own parameter, scattered back into W
    w_sel = w.reshape(-1)[pos].reshape(sel_shape)
    w_sel_new, buf_new = torch_sgd_step(w_sel, g, buf, lr, mom, wd)
    w_new = w.clone().reshape(-1)
    w_new[pos] = w_sel_new.reshape(-1)
    w_new = w_new.reshape(wshape)
    tensors = [("w", f32(w)), ("dw_sel", f32(g)), ("idx", idx)]
    if mom > 0:
        tensors.append(("momentum", f32(buf if buf is not None else torch.zeros(sel_shape, dtype=torch.float64))))
    tensors.append(("w_out", f32(w_new)))
    if mom > 0:
        tensors.append(("momentum_out", f32(buf_new)))
    return tensors, dict(kind="sgd_sparse", groups=groups, lr=repr(lr), momentum=repr(mom), weight_decay=repr(wd))


# ---------------------------------------------------------------------------- main

def all_cases():
    for name, a in conv_cases():
        yield name, gen_conv, a
    for a in LINEAR_CASES:
        b, fin, o, bias, sel, four = a
        yield "linear_b%d_f%dto%d_%s_%s_sel-%s" % (b, fin, o, "x4d" if four else "x2d", "bias" if bias else "nobias",
                                                  sel), gen_linear, a
    for a in SOFTMAX_CASES:
        yield "softmax_ce_b%d_k%d_scale%g" % a, gen_softmax, a
    for a in AVGPOOL_CASES:
        yield "avgpool_b%d_c%d_%dx%d" % a, gen_avgpool, a
    for a in MAXPOOL_CASES:
        (b, c, h, w), k, s, p = a
        yield "maxpool_k%d_s%d_p%d_b%d_c%d_%dx%d" % (k, s, p, b, c, h, w), gen_maxpool, a
    for a in ACTIVATION_CASES:
        yield "act_%s_%s" % (a[0], "x".join(map(str, a[1]))), gen_activation, a
    for a in SGD_CASES:
        shape, lr, mom, wd, fresh = a
        yield "sgd_%s_lr%g_mom%g_wd%g%s" % ("x".join(map(str, shape)), lr, mom, wd, "_fresh" if fresh else ""), \
            gen_sgd, a
    for a in SGD_SPARSE_CASES:
        wshape, groups, sel, lr, mom, wd, fresh = a
        yield "sgd_sparse_%s_g%d_sel-%s_mom%g_wd%g%s" % ("x".join(map(str, wshape)), groups, sel, mom, wd,
                                                        "_fresh" if fresh else ""), gen_sgd_sparse, a


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    names = set()
    total = 0
    for name, fn, a in all_cases():
        if name in names:
            sys.exit("duplicate case name " + name)
        names.add(name)
        tensors, meta = fn(name, a)
        meta = dict(meta, name=name, generator="scripts/gen_fixtures.py", torch=torch.__version__)
        path = os.path.join(OUT, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        total += os.path.getsize(path)
    stale = [f for f in os.listdir(OUT) if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names]
    for f in stale:
        os.remove(os.path.join(OUT, f))
    print("wrote %d fixtures (%d bytes) to %s%s" % (len(names), total, os.path.relpath(OUT, ROOT),
                                                   "; removed %d stale" % len(stale) if stale else ""))


if __name__ == "__main__":
    main()
