#!/usr/bin/env python3
"""make_optim_fixtures.py — the oracle tests/unit/test_optim.c replays: torch's optimizers driven by timm's
schedulers for 20 updates of a few small tensors, on the CPU in float32 as torch computes by default.

A model of five tensors (conv.weight [4,3,3,3], conv.bias [4], bn.weight [4], bn.bias [4], fc.weight [5,7]) split
into weight-decay groups by timm's param_groups_weight_decay; gradients from a fixed numpy generator (saved, so the
C side feeds the same ones); each run records its parameters after every update, the learning rate each update ran
at, torch's state at the end and, with clipping, clip_grad_norm_'s total norm.  timm's schedulers are also sampled
on their own past their end.

Writes, under tests/fixtures/optim/ (about 100 KB; commit them):
  optim.tsv            the runs, schedules, learning rates, norms, state sizes, timm's weight-decay rule on a few
                       names and create_optimizer_v2's defaults (the line kinds are described in its header)
  grads.npy            [20, P] gradients, P = 155 floats of every tensor in named_parameters order
  grads_clip.npy       [20, P] gradients of the clipped run: large, with two updates below the clipping norm
  params_<run>.npy     [21, P] the parameters before the first update and after each
  state_<run>.npy      [S] torch's state after the last update, per tensor in order: SGD momentum_buffer, AdamW
                       exp_avg then exp_avg_sq (the layout of runtime/train/optim.h)

Needs torch 2.x, timm 1.0.x and numpy; the build never runs it.
Usage: python3 tools/make_optim_fixtures.py   (e.g. with /work/benchvenv/bin/python)
"""
import os

import numpy as np
import timm
import torch
from timm.optim import create_optimizer_v2, param_groups_weight_decay
from timm.scheduler import CosineLRScheduler, StepLRScheduler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "optim")
STEPS = 20
SCHED_T = 30  # schedules sampled at t = 0 .. SCHED_T-1, past every one's end

# name: (kind, base_lr, warmup_t, warmup_lr_init, warmup_prefix, min_lr, t_initial, decay_t, decay_rate)
SCHEDS = {
    "cos_warm_sgd": ("cosine", 0.1, 3, 1e-4, 0, 1e-5, 20, 0, 0),
    "cos_prefix": ("cosine", 0.1, 3, 1e-4, 1, 1e-5, 15, 0, 0),
    "cos_warm_adamw": ("cosine", 1e-3, 3, 1e-4, 0, 1e-5, 20, 0, 0),
    "cos_nowarm": ("cosine", 2e-3, 0, 0.0, 0, 1e-6, 20, 0, 0),
    "step_warm": ("step", 0.05, 2, 1e-3, 1, 0.0, 0, 5, 0.5),
    "step_frac": ("step", 0.3, 0, 0.0, 1, 0.0, 0, 2.5, 0.1),
    "step_overlay": ("step", 0.2, 3, 1e-5, 0, 0.0, 0, 4, 0.7),
    "const": ("constant", 0.1, 0, 0.0, 0, 0.0, 0, 0, 0),
}

# name: (opt, sched, momentum, dampening, nesterov, weight_decay, beta1, beta2, eps, max_norm)
RUNS = {
    "sgd_cosine": ("sgd", "cos_warm_sgd", 0.9, 0.0, 0, 1e-4, 0, 0, 0, 0),
    "nesterov_prefix": ("sgd", "cos_prefix", 0.9, 0.0, 1, 1e-4, 0, 0, 0, 0),
    "sgd_step_dampening": ("sgd", "step_warm", 0.9, 0.1, 0, 1e-4, 0, 0, 0, 0),
    "sgd_plain": ("sgd", "const", 0.0, 0.0, 0, 1e-4, 0, 0, 0, 0),
    "adamw_cosine": ("adamw", "cos_warm_adamw", 0, 0, 0, 0.05, 0.9, 0.999, 1e-8, 0),
    # beta1 < 0.5 takes torch's other lerp branch; large gradients, clipped to norm 1
    "adamw_clip": ("adamw", "cos_nowarm", 0, 0, 0, 0.05, 0.3, 0.99, 1e-6, 1.0),
}

# (name, shape): timm's decay rule on names and ranks beyond the model's
DECAY_NAMES = [
    ("stem.conv.weight", (8, 3, 3, 3)), ("stem.bn.weight", (8,)), ("stem.bn.bias", (8,)), ("head.fc.weight", (10, 8)),
    ("head.fc.bias", (10,)), ("pos_embed", (1, 4, 8)), ("cls_token", (1, 1, 8)), ("blocks.0.gamma", (8,)),
    ("scale", ()), ("odd.bias", (2, 3)), ("bias_proj.weight", (2, 3)), ("x.biased", (2, 3)),
    ("y.weight_bias", (3, 2)), ("bias", (3, 2)),
]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(7, 5, bias=False)


def nested(names_shapes):
    """A module holding a parameter under each dotted name."""
    root = torch.nn.Module()
    for name, shape in names_shapes:
        *path, leaf = name.split(".")
        mod = root
        for part in path:
            if not hasattr(mod, part):
                mod.add_module(part, torch.nn.Module())
            mod = getattr(mod, part)
        mod.register_parameter(leaf, torch.nn.Parameter(torch.zeros(shape)))
    return root


def decayed_ids(model, wd):
    groups = param_groups_weight_decay(model, wd)
    return {id(p) for g in groups if g["weight_decay"] for p in g["params"]}


def make_sched(opt, spec):
    kind, base, wt, wi, prefix, lr_min, t_initial, decay_t, rate = spec
    if kind == "cosine":
        return CosineLRScheduler(opt, t_initial=t_initial, lr_min=lr_min, warmup_t=wt, warmup_lr_init=wi,
                                 warmup_prefix=bool(prefix), t_in_epochs=False)
    if kind == "step":
        return StepLRScheduler(opt, decay_t=decay_t, decay_rate=rate, warmup_t=wt, warmup_lr_init=wi,
                               warmup_prefix=bool(prefix), t_in_epochs=False)
    return None  # constant: timm has no scheduler, the rate stays


def flat(tensors):
    return np.concatenate([t.detach().numpy().reshape(-1) for t in tensors]).astype(np.float32)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240615)
    model = Model()
    names = [n for n, _ in model.named_parameters()]
    shapes = [tuple(p.shape) for _, p in model.named_parameters()]
    numels = [int(np.prod(s)) for s in shapes]
    P = sum(numels)
    init = []
    for n, s in zip(names, shapes):
        base = 1.0 if n == "bn.weight" else 0.0
        init.append((base + rng.standard_normal(s) * (0.05 if n.endswith("bias") else 0.5)).astype(np.float32))
    grads = (rng.standard_normal((STEPS, P)) * 0.1).astype(np.float32)
    scale = np.full(STEPS, 10.0)
    scale[[4, 11]] = 0.01  # total norm about 0.12: not clipped
    grads_clip = (rng.standard_normal((STEPS, P)) * scale[:, None]).astype(np.float32)
    np.save(os.path.join(OUT, "grads.npy"), grads)
    np.save(os.path.join(OUT, "grads_clip.npy"), grads_clip)

    lines = [
        f"# made by tools/make_optim_fixtures.py: torch {torch.__version__}, timm {timm.__version__}, "
        f"numpy {np.__version__}; tab-separated",
        "# param NAME NDIM SHAPE OFFSET NUMEL DECAY  (flat offset into the [*, P] arrays; DECAY from timm's groups)",
        "# sched NAME KIND BASE_LR WARMUP_T WARMUP_LR_INIT WARMUP_PREFIX MIN_LR T_INITIAL DECAY_T DECAY_RATE",
        "# lr SCHED T LR  (timm's step_update(T), or the constant)",
        "# run NAME OPT SCHED MOMENTUM DAMPENING NESTEROV WEIGHT_DECAY BETA1 BETA2 EPS MAX_NORM",
        "# used RUN N LR  (the rate update N ran at)   norm RUN N TOTAL  (clip_grad_norm_'s return, float32)",
        "# state RUN PARAM FLOATS  (torch's state tensors' elements, step excluded)",
        "# decay NAME NDIM DECAYED  (timm's param_groups_weight_decay)",
        "# default OPT LR MOMENTUM DAMPENING NESTEROV WEIGHT_DECAY BETA1 BETA2 EPS  (create_optimizer_v2(m, OPT))",
    ]
    dec = decayed_ids(model, 1e-4)
    off = 0
    for (n, p), s, k in zip(model.named_parameters(), shapes, numels):
        lines.append(f"param\t{n}\t{len(s)}\t{','.join(map(str, s))}\t{off}\t{k}\t{int(id(p) in dec)}")
        off += k

    for name, spec in SCHEDS.items():
        lines.append("sched\t" + "\t".join(map(str, (name,) + spec)))
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=spec[1])
        sched = make_sched(opt, spec)
        for t in range(SCHED_T):
            if sched:
                sched.step_update(t)
            lines.append(f"lr\t{name}\t{t}\t{opt.param_groups[0]['lr']!r}")

    for run, (kind, sname, mom, damp, nest, wd, b1, b2, eps, max_norm) in RUNS.items():
        lines.append("run\t" + "\t".join(map(str, (run, kind, sname, mom, damp, nest, wd, b1, b2, eps, max_norm))))
        m = Model()
        with torch.no_grad():
            for p, v in zip(m.parameters(), init):
                p.copy_(torch.from_numpy(v))
        groups = param_groups_weight_decay(m, wd)
        base_lr = SCHEDS[sname][1]
        if kind == "sgd":
            opt = torch.optim.SGD(groups, lr=base_lr, momentum=mom, dampening=damp, nesterov=bool(nest),
                                  foreach=False)
        else:
            opt = torch.optim.AdamW(groups, lr=base_lr, betas=(b1, b2), eps=eps, foreach=False)
        sched = make_sched(opt, SCHEDS[sname])
        g_all = grads_clip if max_norm else grads
        hist = [flat(m.parameters())]
        for n in range(STEPS):
            lrs = {g["lr"] for g in opt.param_groups}
            assert len(lrs) == 1
            lines.append(f"used\t{run}\t{n}\t{lrs.pop()!r}")
            o = 0
            for p, k in zip(m.parameters(), numels):
                p.grad = torch.from_numpy(g_all[n, o:o + k].copy()).reshape(p.shape)
                o += k
            if max_norm:
                total = torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm)
                lines.append(f"norm\t{run}\t{n}\t{total.item()!r}")
            opt.step()
            if sched:
                sched.step_update(n + 1)
            hist.append(flat(m.parameters()))
        np.save(os.path.join(OUT, f"params_{run}.npy"), np.stack(hist))
        state = []
        for pname, p in m.named_parameters():
            st = opt.state[p]
            tensors = [st.get("momentum_buffer")] if kind == "sgd" else [st["exp_avg"], st["exp_avg_sq"]]
            tensors = [t for t in tensors if t is not None]
            lines.append(f"state\t{run}\t{pname}\t{sum(t.numel() for t in tensors)}")
            state += [t.numpy().reshape(-1) for t in tensors]
        if state:
            np.save(os.path.join(OUT, f"state_{run}.npy"), np.concatenate(state).astype(np.float32))

    probe = nested(DECAY_NAMES)
    dec = decayed_ids(probe, 0.05)
    for n, p in probe.named_parameters():
        lines.append(f"decay\t{n}\t{p.ndim}\t{int(id(p) in dec)}")

    for kind in ("sgd", "adamw"):
        g = create_optimizer_v2(Model(), kind).param_groups[0]
        b = g.get("betas", ("-", "-"))
        nesterov = int(g["nesterov"]) if "nesterov" in g else "-"
        vals = [g["lr"], g.get("momentum", "-"), g.get("dampening", "-"), nesterov, g["weight_decay"], b[0], b[1],
                g.get("eps", "-")]
        lines.append("default\t" + "\t".join(map(str, [kind] + vals)))

    with open(os.path.join(OUT, "optim.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(RUNS)} runs of {STEPS} updates, {len(SCHEDS)} schedules, {P} floats per state")


if __name__ == "__main__":
    main()
