#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of the BatchNorm ops that BatchNormFixtureTest checks.

Run with Debian's PyTorch (1.13 CPU):  /usr/bin/python3 scripts/gen_batchnorm_fixtures.py

Same conventions as gen_fixtures.py (whose writer and seeded cases it reuses): float32 inputs,
references computed by torch.nn.functional.batch_norm in float64 from those values, then rounded to
float32; one safetensors file per case, in java/src/test/resources/fixtures-batchnorm/.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import Case, f32, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "java", "src", "test", "resources", "fixtures-batchnorm")

# (shape [B, C, H, W], momentum, eps)
CASES = [((2, 3, 4, 5), 0.1, 1e-5), ((1, 6, 3, 3), 0.1, 1e-3), ((8, 16, 2, 2), 0.1, 1e-5), ((4, 5, 1, 1), 0.3, 1e-5),
         ((3, 2, 7, 6), 0.0, 1e-5), ((2, 1, 9, 9), 1.0, 1e-2)]


def gen(name, shape, momentum, eps):
    r = Case(name)
    c = shape[1]
    x = (r.randn(*shape, scale=2.0) + r.randn(1, c, 1, 1, scale=3.0)).float().double().requires_grad_()
    gamma = (1 + r.randn(c, scale=0.5)).float().double().requires_grad_()
    beta = r.randn(c, scale=0.5).requires_grad_()
    running_mean = r.randn(c)
    running_var = (r.randn(c).abs() + 0.5).float().double()
    rm, rv = running_mean.clone(), running_var.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=momentum, eps=eps)
    dy = r.randn(*shape)
    dx, dgamma, dbeta = torch.autograd.grad(y, [x, gamma, beta], dy)
    mean = x.detach().mean(dim=(0, 2, 3))
    inv_std = 1 / torch.sqrt(x.detach().var(dim=(0, 2, 3), unbiased=False) + eps)
    y_eval = F.batch_norm(x.detach(), running_mean, running_var, gamma.detach(), beta.detach(), training=False, eps=eps)
    tensors = [("x", f32(x)), ("gamma", f32(gamma)), ("beta", f32(beta)), ("running_mean", f32(running_mean)),
               ("running_var", f32(running_var)), ("y", f32(y)), ("save_mean", f32(mean)), ("save_inv_std", f32(inv_std)),
               ("running_mean_after", f32(rm)), ("running_var_after", f32(rv)), ("dy", f32(dy)), ("dx", f32(dx)),
               ("dgamma", f32(dgamma)), ("dbeta", f32(dbeta)), ("y_eval", f32(y_eval))]
    return tensors, dict(kind="batch_norm", momentum=repr(momentum), eps=repr(eps), name=name,
                         generator="scripts/gen_batchnorm_fixtures.py", torch=torch.__version__)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    names = []
    for shape, momentum, eps in CASES:
        name = "batch_norm_%s_mom%g_eps%g" % ("x".join(map(str, shape)), momentum, eps)
        tensors, meta = gen(name, shape, momentum, eps)
        write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
        names.append(name)
    for f in os.listdir(OUT):
        if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names:
            os.remove(os.path.join(OUT, f))
    print("wrote %d BatchNorm fixtures to %s" % (len(names), os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    main()
