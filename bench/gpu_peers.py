#!/usr/bin/env python3
"""gpu_peers.py — PyTorch's figures on a GPU for the CUDA issue's benchmark
rows (inference at 224 and 448, batch 1 and 64; a resnet50 training step at
224, batch 128), eager f32 and eager bf16 autocast with channels_last, so that
netc's CUDA programs have their peer's numbers measured on the same GPU kind.
Det-free: random weights (timm's init), random inputs; median of --iters
timed runs after warm-up, CUDA-synchronised.  Prints JSON Lines, one row each.

    python3 bench/gpu_peers.py [--iters 20] [--models resnet50,...] [--res 224,448] [--batches 1,64]
                               [--modes f32,bf16-cl,compile-f32,compile-bf16-cl] [--no-train]

compile-* rows are torch.compile(model) (default mode: Inductor's fused kernels, no CUDA graphs), compiled
once per shape before the timing (its compile time is not counted).
"""
import argparse, json, statistics, sys, time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_032,efficientnet_b4")
    ap.add_argument("--res", default="224,448")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--modes", default="f32,bf16-cl")
    ap.add_argument("--no-train", action="store_true")
    a = ap.parse_args()
    import torch, timm
    if not torch.cuda.is_available():
        print("gpu_peers: error: no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    gpu = torch.cuda.get_device_name(0)

    def timed(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    for name in a.models.split(","):
        m = timm.create_model(name, pretrained=False).to(dev).eval()
        for res in [int(r) for r in a.res.split(",")]:
            for batch in [int(b) for b in a.batches.split(",")]:
                x = torch.randn(batch, 3, res, res, device=dev)
                for mode in a.modes.split(","):
                    cl = mode.endswith("bf16-cl")
                    mm, xx = m, x
                    if cl:
                        mm, xx = m.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
                    if mode.startswith("compile-"):
                        torch._dynamo.reset()
                        mm = torch.compile(mm)
                    t_compile = time.perf_counter()

                    def run():
                        with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=cl):
                            mm(xx)

                    run()  # a compiled model compiles here
                    torch.cuda.synchronize()
                    t_compile = time.perf_counter() - t_compile
                    t = timed(run)
                    row = {"gpu": gpu, "model": name, "res": res, "batch": batch, "mode": mode,
                           "ms": round(t * 1e3, 3), "img_per_s": round(batch / t, 1)}
                    if mode.startswith("compile-"):
                        row["compile_s"] = round(t_compile, 1)
                    print(json.dumps(row), flush=True)
        del m
        torch.cuda.empty_cache()
    if not a.no_train:
        m = timm.create_model("resnet50", pretrained=False).to(dev).train().to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(128, 3, 224, 224, device=dev).to(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (128,), device=dev)
        lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        for mode in ("f32", "bf16-cl"):
            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast("cuda", torch.bfloat16, enabled=mode != "f32"):
                    loss = lossf(m(x), y)
                loss.backward()
                opt.step()

            t = timed(step)
            print(json.dumps({"gpu": gpu, "model": "resnet50", "res": 224, "batch": 128, "mode": mode, "train": True,
                              "ms": round(t * 1e3, 3), "img_per_s": round(128 / t, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
