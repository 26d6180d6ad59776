"""The CUDA paths, run and timed on a machine with a GPU: every task through `archzoo train --device cuda`
in each precision, exact resume on the GPU (fp16 with its gradient scaler, bf16), torchrun with nccl, the
tools over GPU runs, and training-step throughput on the GPU against the same machine's CPU.

    python benchmarks/devices.py                     # everything: speed, then the checks
    python benchmarks/devices.py --parts speed       # only the throughput table
    python benchmarks/devices.py --parts checks --work /scratch/devcheck

Speed: forward + loss under the engine's autocast, backward and the optimizer step through
archzoo.engine.precision.Precision exactly as `archzoo train` runs them (the CPU's rows with all its
threads, channels_last; CUDA's synchronised before the clock stops), median images/s of repeats.

Checks: each command in CHECKS runs as a user would type it; a row says whether it finished, its
wall time and the metric it reports. The resume rows train one run straight through and another
stopped after its first step and resumed, and compare their final weights bit for bit.

Writes docs/results/devices.{md,json}. Needs a CUDA device.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _common import git_commit, load_average, machine, median, stamp, write_result
from archzoo.engine.precision import Precision
from throughput import build, stepper

SPEED_ROWS = (("mlp", (1, 28, 28), 256), ("lenet5_modern", (1, 28, 28), 256), ("resnet20", (1, 28, 28), 256),
              ("resnet18", (3, 64, 64), 128), ("vit_ti_16", (3, 64, 64), 128))
PRECISIONS = ("fp32", "bf16", "fp16")


def cuda_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"


def speed_settings(device: str) -> list[tuple[str, str]]:
    """(device, precision) of each column: the CPU in fp32, then the GPU in each precision."""
    return [("cpu", "fp32")] + [(device, p) for p in PRECISIONS]


def part_speed(device_name: str, steps: int, repeats: int) -> list[dict]:
    rows = []
    gpu = device_name.split(":")[0]
    for name, shape, batch in SPEED_ROWS:
        row: dict[str, object] = {"model": name, "input": "x".join(map(str, shape)), "batch": batch}
        for dev, precision_name in speed_settings(device_name):
            device = torch.device(dev)
            torch.manual_seed(0)
            model = build(name, shape, 10).to(device, memory_format=torch.channels_last)
            x = torch.randn(batch, *shape, device=device).contiguous(memory_format=torch.channels_last)
            y = torch.randint(0, 10, (batch,), device=device)
            run = stepper(model, x, y, precision=Precision(precision_name, device=device))
            sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
            sync()
            rates = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(steps)
                sync()
                rates.append(steps * batch / (time.perf_counter() - t0))
            row[f"{dev.split(':')[0]} {precision_name}"] = median(rates)
            del run, model, x, y
        row["gpu fp32 / cpu fp32"] = row[f"{gpu} fp32"] / row["cpu fp32"]
        row["gpu bf16 / gpu fp32"] = row[f"{gpu} bf16"] / row[f"{gpu} fp32"]
        rows.append(row)
        print(row, flush=True)
    return rows


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "archzoo.cli", *args]


def checks(work: Path, device: str) -> list[tuple[str, list[str]]]:
    """(what it checks, argv) in order; later commands read the runs of earlier ones."""
    w = str(work)
    fm = ("--data", "fashion-mnist")
    rows = [(f"classification, {p}", cli("train", "lenet5_modern", *fm, "--device", device, "--precision", p,
                                          "--epochs", "2", "--out", f"{w}/lenet_{p}", "--quiet"))
            for p in ("fp32", "bf16", "fp16", "auto")]
    rows += [
        ("torchrun, 1 process, nccl", [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                       "--nproc-per-node", "1", "-m", "archzoo.cli", "train", "lenet5_modern", *fm,
                                       "--epochs", "1", "--out", f"{w}/lenet_ddp", "--quiet"]),
        ("evaluate a CUDA run on CUDA", cli("eval", f"{w}/lenet_fp16", "--device", device, "--json")),
        ("evaluate a CUDA run on the CPU", cli("eval", f"{w}/lenet_bf16", "--device", "cpu", "--json")),
        ("resume a CUDA run on the CPU", cli("train", "--resume", f"{w}/lenet_fp32", "--device", "cpu",
                                             "--epochs", "3", "--quiet")),
        ("character GPT, bf16", cli("train", "gpt", "--data", "tinyshakespeare", "--device", device, "--precision",
                                    "bf16", "--max-time", "30", "--out", f"{w}/gpt", "--quiet")),
        ("sample from the GPT on CUDA", cli("sample", f"{w}/gpt", "--tokens", "200", "--device", device)),
        ("char_lstm, truncated BPTT, fp16", cli("train", "char_lstm", "--data", "tinyshakespeare", "--device", device,
                                                "--precision", "fp16", "--max-time", "20", "--set", "bptt=64",
                                                "--out", f"{w}/lstm", "--quiet")),
        ("kim_cnn on MR, fp16", cli("train", "kim_cnn", "--data", "mr", "--device", device, "--precision", "fp16",
                                    "--out", f"{w}/kim", "--quiet")),
        ("transformer_small on Multi30k, bf16", cli("train", "transformer_small", "--data", "multi30k-de-en",
                                                    "--device", device, "--precision", "bf16", "--epochs", "1",
                                                    "--out", f"{w}/mt", "--quiet")),
        ("translate on CUDA", cli("translate", f"{w}/mt", "Ein Mann fährt Fahrrad.", "--device", device)),
        ("vae_mlp, fp16 (nll_iw, fid_clf)", cli("train", "vae_mlp", *fm, "--device", device, "--precision", "fp16",
                                                "--epochs", "3", "--out", f"{w}/vae", "--quiet")),
        ("cvae, bf16", cli("train", "cvae", *fm, "--device", device, "--precision", "bf16", "--epochs", "2",
                           "--out", f"{w}/cvae", "--quiet")),
        ("sample a class from the cvae", cli("sample", f"{w}/cvae", "--class", "7", "--out", f"{w}/cvae.png",
                                             "--device", device)),
        ("denoising ae_conv, bf16", cli("train", "ae_conv", *fm, "--device", device, "--precision", "bf16",
                                        "--epochs", "2", "--set", "noise=gaussian", "--set", "noise_level=0.3",
                                        "--out", f"{w}/dae", "--quiet")),
        ("reconstruct on CUDA", cli("reconstruct", f"{w}/dae", "--out", f"{w}/dae.png")),
        ("resnet20, bf16, compiled", cli("train", "resnet20", *fm, "--device", device, "--precision", "bf16",
                                         "--compile", "--epochs", "1", "--out", f"{w}/resnet20", "--quiet")),
    ]
    return rows


def resume_check(work: Path, device: str, precision: str, model: str) -> dict:
    """A run stopped after its first step and resumed against one never stopped: same final weights?"""
    from safetensors.torch import load_file

    from archzoo.engine import TrainConfig, resume, train

    def cfg(name: str, **kw: object) -> TrainConfig:
        return TrainConfig(model=model, data="fashion-mnist", epochs=2, subset=8192, batch_size=128, lr=1e-3,
                           optimizer="adamw", val_size=1000, device=device, precision=precision,
                           out=str(work / name), **kw)

    t0 = time.perf_counter()
    full = train(cfg(f"full_{model}_{precision}"), progress=False)
    cut = train(cfg(f"cut_{model}_{precision}", max_time=1e-9), progress=False)
    resumed = resume(work / f"cut_{model}_{precision}", progress=False, overrides={"max_time": 0.0})
    a = load_file(str(work / f"full_{model}_{precision}" / "checkpoints" / "last.safetensors"))
    b = load_file(str(work / f"cut_{model}_{precision}" / "checkpoints" / "last.safetensors"))
    diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a if k.startswith("model."))
    return {"check": f"exact resume, {model}, {precision}", "ok": not cut["completed"] and diff == 0.0,
            "wall_s": round(time.perf_counter() - t0, 1),
            "result": f"stopped after step 1; max weight difference {diff:g}; test accuracy "
                      f"{full['metrics']['test']['accuracy']:.4f} vs {resumed['metrics']['test']['accuracy']:.4f}"}


def headline(out: str) -> str:
    """The end of a command's output, on one line."""
    return " ".join(out.split())[-200:]


def part_checks(work: Path, device: str, timeout: float, budget: float, only: list[str] | None = None,
                resumes: bool = True) -> list[dict]:
    rows, start = [], time.perf_counter()
    for precision, model in (("fp16", "lenet5_modern"), ("bf16", "mlp"), ("fp32", "mlp")) if resumes else ():
        try:
            rows.append(resume_check(work, device, precision, model))
        except Exception as exc:  # a failed check is a row of the table, not the end of the benchmark
            rows.append({"check": f"exact resume, {model}, {precision}", "ok": False, "wall_s": 0,
                         "result": f"{type(exc).__name__}: {exc}"[:300]})
        print(rows[-1], flush=True)
    for name, argv in checks(work, device):
        if only and not any(word in name for word in only):
            continue
        t0 = time.perf_counter()
        if t0 - start > budget:
            rows.append({"check": name, "ok": False, "wall_s": 0.0,
                         "result": f"not run: the {budget:.0f} s budget was spent"})
            continue
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            ok, text = done.returncode == 0, headline(done.stdout) if done.returncode == 0 else headline(done.stderr)
        except subprocess.TimeoutExpired:
            ok, text = False, f"timed out after {timeout:.0f} s"
        row = {"check": name, "ok": ok, "wall_s": round(time.perf_counter() - t0, 1), "result": text,
               "command": " ".join(a for a in argv[1:] if not a.startswith(str(work)))}
        out_dir = next((a for a in argv if a.startswith(str(work)) and "." not in Path(a).name), None)
        summary = Path(out_dir) / "summary.json" if out_dir else None
        if ok and summary and summary.is_file() and "train" in argv:
            s = json.loads(summary.read_text())
            row["result"] = (f"device {s.get('device')}, precision {s.get('precision')}, "
                             + json.dumps(s["metrics"].get("test", {}), default=str)[:200])
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["speed", "checks"], choices=["speed", "checks"])
    p.add_argument("--device", default="cuda", help="the GPU to check and time (default cuda)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--work", help="where the checks' runs go (default: a temporary directory)")
    p.add_argument("--timeout", type=float, default=240, help="seconds one check may take")
    p.add_argument("--budget", type=float, default=1800, help="seconds after which no further check starts")
    p.add_argument("--only", nargs="+", help="only the checks whose names hold one of these words")
    p.add_argument("--no-resumes", action="store_true", help="leave out the exact-resume checks")
    p.add_argument("--out", default="devices")
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("benchmarks/devices.py needs a CUDA device; on a CPU-only machine see benchmarks/precision.py")
    head = (f"Measured {stamp()} at commit {git_commit()} on {machine()} with {cuda_name()} "
            f"(load average {load_average():.1f}) by `python benchmarks/devices.py "
            f"{' '.join(sys.argv[1:])}`.\n")
    lines, result = [head], {}
    if "speed" in args.parts:
        rows = part_speed(args.device, args.steps, args.repeats)
        result["speed"] = rows
        cols = [f"{d.split(':')[0]} {p}" for d, p in speed_settings(args.device)]
        lines += [f"## Training-step throughput (images/s, median of {args.repeats} x {args.steps} steps; "
                  f"the CPU with {torch.get_num_threads()} threads)\n",
                  "| model | input | batch | " + " | ".join(cols) + " | GPU fp32 / CPU | bf16 / fp32 on the GPU |",
                  "|---|---|---:|" + "---:|" * (len(cols) + 2)]
        lines += [f"| {r['model']} | {r['input']} | {r['batch']} | " + " | ".join(f"{r[c]:,.0f}" for c in cols)
                  + f" | {r['gpu fp32 / cpu fp32']:.1f}x | {r['gpu bf16 / gpu fp32']:.2f}x |" for r in rows]
        lines.append("")
    if "checks" in args.parts:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(args.work or tmp)
            work.mkdir(parents=True, exist_ok=True)
            rows = part_checks(work, args.device, args.timeout, args.budget, args.only, not args.no_resumes)
        result["checks"] = rows
        passed = sum(r["ok"] for r in rows)
        lines += [f"## The CUDA paths: {passed} of {len(rows)} checks pass\n",
                  "| check | passed | wall time | result |", "|---|---|---:|---|"]
        lines += [f"| {r['check']} | {'yes' if r['ok'] else '**no**'} | {r['wall_s']:.1f} s | "
                  f"{r['result'].replace('|', '/')} |" for r in rows]
    print(write_result(args.out, "\n".join(lines) + "\n", result))


if __name__ == "__main__":
    main()
