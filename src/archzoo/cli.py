"""The `archzoo` command: a thin layer over the public functions.

Exit status: 0 on success; 2 for bad input (one line on stderr saying what was wrong and how to fix
it, no traceback); 1 for anything unexpected; 130 when interrupted (the run is saved and resumable);
141 when the reader of stdout went away (`archzoo list | head`), quietly, as for SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archzoo.data import DataError, data_root, dataset_info, list_datasets
from archzoo.engine.checkpoint import CheckpointError
from archzoo.engine.config import ConfigError, TrainConfig, apply_sets
from archzoo.registry import (
    OverrideError,
    OverrideValueError,
    UnknownModelError,
    list_models,
    model_card,
    resolve_config,
)

BAD_INPUT = (UnknownModelError, OverrideError, OverrideValueError, DataError, ConfigError, CheckpointError)


class UsageError(ValueError):
    pass


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise UsageError(f"--input expects sizes like 3,224,224, got {text!r}") from None
    if not shape or any(v <= 0 for v in shape):
        raise UsageError(f"--input sizes must be positive, got {text!r}")
    return shape


# ---- commands -----------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.pattern, family=args.family, task=args.task)
    if not names:
        print("no models match", file=sys.stderr)
        return 0
    print(f"{'model':<24} {'family':<14} {'task':<16} {'year':>4} {'params':>14}  input")
    for n in names:
        c = model_card(n)
        print(f"{n:<24} {c.family:<14} {c.task:<16} {c.year:>4} {c.num_params:>14,}  "
              f"{'x'.join(map(str, c.input_size))}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from archzoo.analysis.summary import summarize, training_step_peak_memory
    from archzoo.registry import create_model, example_input

    card = model_card(args.model)
    shape = _parse_shape(args.input) if args.input else card.input_size
    overrides = {}
    if len(shape) == 3 and hasattr(card.config, "in_channels") and shape[0] != card.config.in_channels:
        overrides["in_channels"] = shape[0]
    model = create_model(args.model, **overrides)
    x = example_input(args.model, args.batch_size, shape, **overrides)  # token ids for language and text models
    try:
        s = summarize(model, x, args.model)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    if not args.no_memory:
        s.peak_train_step_bytes, s.peak_method = training_step_peak_memory(model, x)
    print(f"{args.model}: {card.paper} ({card.year}) {card.url}")
    print(s.table())
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    root = data_root(args.data_root)
    print(f"data root: {root}")
    for name in list_datasets():
        info = dataset_info(name)
        print(f"{name:<16} {info.task:<16} {info.description}")
    return 0


def cmd_factcheck(args: argparse.Namespace) -> int:
    from archzoo.analysis.factcheck import factcheck, markdown

    verdicts = factcheck()
    if args.markdown:
        print(markdown(verdicts), end="")
        return 0
    for v in verdicts:
        print(f"{v.verdict:<14} {v.claim.text}  [{v.explanation}]")
    return 0


def _train_config(args: argparse.Namespace) -> TrainConfig:
    from archzoo.engine.recipes import recipe

    if args.model is None or args.data is None:
        raise UsageError("train needs MODEL and --data NAME (or --resume RUN_DIR)")
    if args.model.startswith("nas:"):  # the best candidate of a search (nas:RUN) or one of its trials (nas:RUN#T)
        from archzoo.nas import resolve_candidate

        args.model, found, _ = resolve_candidate(args.model)
        args.set = [f"model.{key}={value!r}" for key, value in found.items()] + (args.set or [])
    if args.folds is not None and args.folds < 2:
        raise UsageError(f"--folds must be at least 2 (the number of cross-validation folds), got {args.folds}")
    card = model_card(args.model)
    dataset_info(args.data)
    cfg = TrainConfig(model=args.model, data=args.data, recipe=args.recipe)
    for key, value in recipe(args.model, card.family, args.data, args.recipe).items():
        setattr(cfg, key, value)
    flags = {"data_root": args.data_root, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "optimizer": args.optimizer, "weight_decay": args.weight_decay, "seed": args.seed, "out": args.out,
             "max_time": args.max_time, "subset": args.subset, "device": args.device, "schedule": args.schedule,
             "precision": args.precision, "folds": args.folds}
    for key, value in flags.items():
        if value is not None:
            setattr(cfg, key, value)
    if args.compile:
        cfg.compile = True
    if args.tensorboard:
        cfg.tensorboard = True
    apply_sets(cfg, args.set or [])
    cfg.validate()
    resolve_config(args.model, **cfg.model_overrides)  # a bad --set fails now, before data is loaded
    return cfg


def _report(summary: dict[str, Any]) -> int:
    if not summary:
        return 0
    metrics = summary.get("metrics", {})
    parts = []
    for split in ("val", "test"):
        m = metrics.get(split, {})
        for key in ("accuracy", "mse", "psnr", "max_error", "neg_elbo", "nll_iw", "loss", "bpc", "cycle"):
            if key in m:
                parts.append(f"{split} {key} {m[key]:.4f}")
        if "bleu" in m:  # translation: BLEU is 0-100
            parts.append(f"{split} bleu {m['bleu']:.2f} ({m.get('decoding', '')})")
    samples = metrics.get("samples", {})  # a generator's samples, judged
    if "modes_covered" in samples:
        parts.append(f"samples: {samples['modes_covered']} of {samples['modes']} modes covered, "
                     f"{samples['high_quality']:.1%} of high quality")
    if "fid_clf" in samples:
        floor = f" (real data {samples['fid_clf_floor']:.2f})" if "fid_clf_floor" in samples else ""
        parts.append(f"samples: fid_clf {samples['fid_clf']:.2f}{floor}, {samples['classes_covered']} classes covered")
    if "a2b_target_share" in samples:  # a CycleGAN's translations, judged
        parts.append(f"translations taken for the target class: A->B {samples['a2b_target_share']:.1%}, B->A "
                     f"{samples['b2a_target_share']:.1%}")
    status = "done" if summary["completed"] else f"stopped ({summary['stop_reason']})"
    print(f"{status}: {summary['model']} on {summary['data']}, {summary['epochs_done']} epochs in "
          f"{summary['wall_time_s']:.1f}s; {'; '.join(parts)}")
    print(f"run directory: {summary['run_dir']}")
    return 130 if summary.get("stop_reason") == "interrupted" else 0


def _report_cv(summary: dict[str, Any]) -> int:
    if not summary:
        return 0
    cv, k = summary["metrics"]["cv"], summary["cross_validation"]["folds"]
    parts = [f"test {key} {cv[f'{key}_mean']:.4f} +/- {cv[f'{key}_std'] or 0.0:.4f}"
             for key in ("accuracy", "macro_f1") if cv[f"{key}_mean"] is not None]
    status = "done" if summary["completed"] else f"stopped ({summary['stop_reason']})"
    print(f"{status}: {summary['model']} on {summary['data']}, {cv['folds_done']} of {k} folds in "
          f"{summary['wall_time_s']:.1f}s; {'; '.join(parts) or 'no fold finished'}")
    print(f"run directory: {summary['run_dir']}")
    return 130 if summary.get("stop_reason") == "interrupted" else 0


def _resume_settings(pairs: list[str]) -> dict[str, Any]:
    """The training settings ``--set`` changes on a resumed run (unhealthy_patience=0, say); the model's
    cannot change under its checkpoint."""
    probe = TrainConfig(model="", data="")
    apply_sets(probe, pairs)
    if probe.model_overrides:
        raise ConfigError(f"a resumed run keeps its model: {', '.join(sorted(probe.model_overrides))} cannot be "
                          "changed with --resume; start a new run to change the model")
    keys = [pair.partition("=")[0].strip() for pair in pairs]
    return {key: getattr(probe, key) for key in keys}


def cmd_train(args: argparse.Namespace) -> int:
    from archzoo.engine import resume, train
    from archzoo.engine.cv import cross_validate, is_cv_dir, resume_cross_validation

    if args.resume:
        extra: dict[str, Any] = {"max_time": args.max_time or 0.0}  # a time limit does not carry over
        for key in ("epochs", "device", "precision"):  # e.g. more epochs, or a run moved to another machine
            if getattr(args, key) is not None:
                extra[key] = getattr(args, key)
        extra.update(_resume_settings(args.set or []))
        if is_cv_dir(Path(args.resume)):
            return _report_cv(resume_cross_validation(Path(args.resume), progress=not args.quiet, overrides=extra))
        return _report(resume(Path(args.resume), progress=not args.quiet, overrides=extra))
    cfg = _train_config(args)
    if cfg.folds and cfg.fold < 0:  # --folds K: K fold runs; a single fold (--set fold=k) is a normal run
        return _report_cv(cross_validate(cfg, progress=not args.quiet))
    return _report(train(cfg, progress=not args.quiet))


def cmd_eval(args: argparse.Namespace) -> int:
    from archzoo.engine import evaluate_run

    result = evaluate_run(Path(args.run_dir), data=args.data, split=args.split, checkpoint=args.checkpoint,
                          data_root=args.data_root, device=args.device, precision=args.precision)
    if args.json:
        print(json.dumps(result))
        return 0
    shown = {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent
    from archzoo.tasks.language_model import sample_run

    task = latent.run_task(Path(args.run_dir))
    if not args.ema and task != "adversarial":
        raise ConfigError(f"--no-ema applies to GAN runs that kept a moving average of G; {args.run_dir} is a "
                          f"{task} run")
    if task == "cycle_adversarial":  # image-to-image translation: translate, there and back
        from archzoo.tasks.adversarial_cycle import translate_run

        path, _ = translate_run(Path(args.run_dir), inputs=args.input or (), split=args.split or "test",
                                n=8 if args.n is None else args.n, out=args.out, checkpoint=args.checkpoint,
                                device=args.device)
        print(f"translations: {path}")
        return 0
    if args.input or args.split:
        raise ConfigError(f"--input and --split apply to CycleGAN runs (translations); {args.run_dir} is a {task} run")
    if task in ("vae", "adversarial"):
        path, _ = latent.sample(Path(args.run_dir), n=64 if args.n is None else args.n, cls=args.cls,
                                seed=args.seed, out=args.out, checkpoint=args.checkpoint, device=args.device,
                                truncation=args.truncation, ema=args.ema)
        print(f"samples: {path}")
        return 0
    if task == "reconstruction":
        raise ConfigError(f"{args.run_dir} is an autoencoder run: it has no prior to sample from (commands for it: "
                          "reconstruct, interpolate, embed, eval); train a VAE (vae_mlp, vae_conv, cvae) to sample")
    if args.cls is not None:
        raise ConfigError("--class applies to conditional models (cvae); this is a text run")
    if args.truncation != 1:
        raise ConfigError("--truncation applies to GAN runs; this is a text run (use --temperature, --top-k, --top-p)")
    sample_run(Path(args.run_dir), args.prompt, args.tokens, temperature=args.temperature, top_k=args.top_k,
               top_p=args.top_p, seed=args.seed, checkpoint=args.checkpoint, device=args.device)
    print()
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from archzoo.data.text import read_lines
    from archzoo.tasks.translation import Translator, plot_attention

    if (args.sentence is None) == (args.file is None):
        raise ConfigError("give one sentence to translate, or --file PATH with one sentence per line (not both)")
    if args.beam is not None and args.beam < 1:
        raise ConfigError(f"--beam must be at least 1, got {args.beam}")
    sentences = [args.sentence] if args.sentence is not None else read_lines(Path(args.file))
    translator = Translator(Path(args.run_dir), checkpoint=args.checkpoint, device=args.device)
    translations = translator.translate(sentences, beam=args.beam, truncate=args.truncate)
    for line in translations:
        print(line)
    if args.attention:
        weights, src, tgt = translator.attention(sentences[0], translations[0], truncate=args.truncate)
        path = plot_attention(weights, src, tgt, Path(args.attention), head=args.head,
                              title=f"{translator.cfg.model}: {translations[0]}")
        print(f"attention: {path}", file=sys.stderr)
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent

    path, _ = latent.reconstruct(Path(args.run_dir), n=args.n, noise=args.noise, noise_level=args.noise_level,
                                 split=args.split, out=args.out, checkpoint=args.checkpoint, device=args.device)
    print(f"reconstructions: {path}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent

    path, _ = latent.interpolate(Path(args.run_dir), start=args.start, end=args.end, steps=args.steps,
                                 spherical=args.slerp, split=args.split, out=args.out, checkpoint=args.checkpoint,
                                 device=args.device, ema=args.ema)
    print(f"interpolation: {path}")
    return 0


def cmd_mix(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent

    path, _ = latent.mix(Path(args.run_dir), rows=args.rows, cols=args.cols, styles=tuple(args.styles),
                         seed=args.seed, truncation=args.truncation, out=args.out, checkpoint=args.checkpoint,
                         device=args.device, ema=args.ema)
    print(f"style mixing: {path}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent

    npz, figure, codes, _ = latent.embed(Path(args.run_dir), split=args.split, out=args.out, plot=args.plot,
                                         checkpoint=args.checkpoint, device=args.device)
    print(f"codes: {npz} ({codes.shape[0]} x {codes.shape[1]})" + (f"; scatter: {figure}" if figure else ""))
    return 0


def cmd_style(args: argparse.Namespace) -> int:
    from archzoo.analysis import latent

    path, _ = latent.style(Path(args.run_dir), index=args.start, split=args.split, out=args.out,
                           checkpoint=args.checkpoint, device=args.device)
    print(f"style transfer: {path}")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from archzoo.tasks.forecasting import forecast_run

    result = forecast_run(Path(args.run_dir), horizon=args.horizon, data=args.data, data_root=args.data_root,
                          out=args.out, plot=args.plot, checkpoint=args.checkpoint, device=args.device)
    levels = sorted(result["lower"])
    targets = result["targets"]
    if not args.out:  # the forecast itself on stdout; with --out it is in the file
        print("\t".join(["time", *targets, *(f"{t} {lv}% interval" for lv in levels for t in targets)]))
        for i, label in enumerate(result["time"]):
            cells = [f"{result['mean'][i, j]:.4g}" for j in range(len(targets))]
            cells += [f"{result['lower'][lv][i, j]:.4g}..{result['upper'][lv][i, j]:.4g}" for lv in levels
                      for j in range(len(targets))]
            print("\t".join([label, *cells]))
    for what, path in (("forecast", args.out), ("figure", args.plot)):
        if path:
            print(f"{what}: {path}", file=sys.stderr)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from archzoo.tasks.anomaly import detect_run

    result = detect_run(Path(args.run_dir), data=args.data, data_root=args.data_root, out=args.out, plot=args.plot,
                        checkpoint=args.checkpoint, device=args.device)
    if not args.out:
        print("time\tscore")
        for label, score in zip(result["time"], result["score"], strict=True):
            print(f"{label}\t{score:.4g}")
    print(f"{len(result['index'])} of {result['points']} points flagged (score above {result['threshold']:.4g})"
          + "".join(f"; {what}: {path}" for what, path in (("list", args.out), ("figure", args.plot)) if path),
          file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from archzoo.nas import SearchConfig, resume_search, search

    if args.resume:
        if args.space or args.strategy or args.data:
            raise UsageError("--resume continues a search as it was configured; leave out --space, --strategy and "
                             "--data (a larger budget: --trials N, --max-time SECONDS)")
        summary = resume_search(Path(args.resume), progress=not args.quiet, trials=args.trials, max_time=args.max_time)
    else:
        missing = [flag for flag, value in (("--space", args.space), ("--strategy", args.strategy),
                                            ("--data", args.data)) if value is None]
        if missing:
            raise UsageError(f"search needs {', '.join(missing)} (or --resume RUN)")
        cfg = SearchConfig(space=args.space, strategy=args.strategy, data=args.data, objective=args.objective,
                           trials=args.trials or 0, max_time=args.max_time or 0.0, workers=args.workers,
                           executor=args.executor, address=args.address or "", seed=args.seed,
                           data_root=args.data_root, max_params=args.max_params, max_macs=args.max_macs,
                           population=args.population, tournament=args.tournament, trial_epochs=args.trial_epochs,
                           trial_subset=args.trial_subset, val_size=args.val_size, threads=args.threads,
                           proxy=args.proxy or "", proxy_candidates=args.proxy_candidates, out=args.out or "")
        summary = search(cfg, progress=not args.quiet)
    best = summary["best"]
    status = "done" if summary["completed"] else "stopped (interrupted)"
    found = (f"best trial {best['trial']}: val accuracy {best['val_accuracy']:.4f}, {best['params']:,} parameters, "
             f"{best['macs'] / 1e6:.2f}M MACs ({best['arch']})" if best else "no trial finished")
    print(f"{status}: {summary['trials_done']} trials in {summary['wall_time_s']:.0f}s; {found}")
    print(f"search directory: {summary['run_dir']}; retrain the best: {summary['retrain']}")
    return 0 if summary["completed"] else 130


def _run_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--checkpoint", default="best", choices=["last", "best"])
    s.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")


def _no_ema_option(s: argparse.ArgumentParser) -> None:
    s.add_argument("--no-ema", dest="ema", action="store_false",
                   help="a GAN run that kept a moving average of G's weights (--set ema=...): draw from G itself")


def _image_command(sub: Any, name: str, help: str, fn: Any) -> argparse.ArgumentParser:
    """A command over an image run's split that draws a figure: RUN_DIR, --split, --out, --checkpoint, --device."""
    s = sub.add_parser(name, help=help)
    s.add_argument("run_dir")
    s.add_argument("--split", default="test")
    s.add_argument("--out", metavar="PNG", help=f"the figure (default RUN/figures/{name}.png)")
    _run_options(s)
    s.set_defaults(fn=fn)
    return s


# ---- parser --------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's default prints the usage too)
        self.exit(2, f"archzoo: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="archzoo", description="Deep learning architectures, proven and trained.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list registered models")
    s.add_argument("pattern", nargs="?", default="*", help="glob on model names, e.g. 'resnet*'")
    s.add_argument("--family")
    s.add_argument("--task")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("info", help="per-layer table, parameters, MACs and memory of a model")
    s.add_argument("model")
    s.add_argument("--input", help="input size C,H,W (default: the model card's)")
    s.add_argument("--batch-size", type=int, default=1)
    s.add_argument("--no-memory", action="store_true", help="skip measuring the training-step memory")
    s.set_defaults(fn=cmd_info)

    s = sub.add_parser("factcheck", help="check the numbers commonly quoted about classic architectures")
    s.add_argument("--markdown", action="store_true", help="print the table of docs/factcheck.md")
    s.set_defaults(fn=cmd_factcheck)

    s = sub.add_parser("datasets", help="list datasets")
    s.add_argument("--data-root")
    s.set_defaults(fn=cmd_datasets)

    s = sub.add_parser("train", help="train a model on a dataset (or resume a run)")
    s.add_argument("model", nargs="?")
    s.add_argument("--data")
    s.add_argument("--data-root")
    s.add_argument("--recipe", default="default", help="a named recipe instead of the default one")
    s.add_argument("--epochs", type=int)
    s.add_argument("--batch-size", type=int)
    s.add_argument("--lr", type=float)
    s.add_argument("--optimizer")
    s.add_argument("--schedule")
    s.add_argument("--weight-decay", type=float)
    s.add_argument("--seed", type=int)
    s.add_argument("--out", help="the run directory (default runs/<model>-<data>-<time>)")
    s.add_argument("--max-time", type=float, help="stop (resumably) after this many seconds")
    s.add_argument("--subset", type=int, help="train on this many samples only")
    s.add_argument("--device", help="auto (default: CUDA when available, else the CPU), cpu, cuda or cuda:N")
    s.add_argument("--precision", help="fp32 (default), bf16, fp16 (CUDA only) or auto (bf16 where the hardware "
                                       "runs it natively and a measured step is faster, else fp32)")
    s.add_argument("--compile", action="store_true", help="torch.compile the model")
    s.add_argument("--tensorboard", action="store_true", help="write TensorBoard event files")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any training setting or model option, e.g. --set label_smoothing=0.1 --set depth=3")
    s.add_argument("--folds", type=int, metavar="K",
                   help="K-fold cross-validation of text classification: a run per fold in RUN_DIR/folds/k, "
                        "their mean and std in RUN_DIR/summary.json")
    s.add_argument("--resume", metavar="RUN_DIR", help="continue the run (or cross-validation) in RUN_DIR")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("eval", help="evaluate a run's weights")
    s.add_argument("run_dir")
    s.add_argument("--data")
    s.add_argument("--data-root")
    s.add_argument("--split", default="test")
    s.add_argument("--checkpoint", default="last", choices=["last", "best"])
    s.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    s.add_argument("--precision", help="fp32, bf16, fp16 or auto (default: the run's own)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("sample", help="generate text from a language-model run, or images (or 2-D points) from "
                                      "a VAE or GAN run, or translate images with a CycleGAN run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, help="images: how many (default 64; CycleGAN: 8 of each domain)")
    s.add_argument("--input", nargs="+", metavar="PNG", help="CycleGAN: translate these images both ways")
    s.add_argument("--split", help="CycleGAN: translate the first n images of each domain in this split "
                                   "(default test)")
    s.add_argument("--class", dest="cls", metavar="C", help="images of a conditional VAE: this class (index or name)")
    s.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                   help="GANs: pull the codes toward their mean by psi in (0, 1] (1: none, the default)")
    s.add_argument("--out", metavar="PNG", help="images: the figure (default RUN/figures/sample.png)")
    s.add_argument("--prompt", default="", help="the text to continue (default: start from nothing)")
    s.add_argument("--tokens", type=int, default=500, help="how many tokens to generate")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens (0: all)")
    s.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: the smallest set with this mass")
    s.add_argument("--seed", type=int, default=0)
    _no_ema_option(s)
    s.add_argument("--checkpoint", default="best", choices=["last", "best"])
    s.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    s.set_defaults(fn=cmd_sample)

    s = sub.add_parser("translate", help="translate sentences with a translation run")
    s.add_argument("run_dir")
    s.add_argument("sentence", nargs="?", help="the sentence to translate")
    s.add_argument("--file", help="translate this file instead: one sentence per line, one translation per line out")
    s.add_argument("--beam", type=int, help="beam width (default: the run's, 5; 1: greedy)")
    s.add_argument("--truncate", action="store_true", help="translate the first tokens of a sentence that is "
                                                             "longer than the model takes (else an error)")
    s.add_argument("--attention", metavar="PNG", help="draw the encoder-decoder attention of the (first) sentence")
    s.add_argument("--head", type=int, help="with --attention: this head only (default: the mean over heads)")
    s.add_argument("--checkpoint", default="best", choices=["last", "best"])
    s.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    s.set_defaults(fn=cmd_translate)

    s = _image_command(sub, "reconstruct", "an autoencoder or VAE run's reconstructions of test images",
                       cmd_reconstruct)
    s.add_argument("--n", type=int, default=16, help="how many images (default 16)")
    s.add_argument("--noise", help="corrupt the inputs first: none, gaussian, masking, salt_pepper (default: the "
                                   "run's training noise)")
    s.add_argument("--noise-level", type=float, help="the noise's level (gaussian: sigma; others: the fraction)")

    s = _image_command(sub, "interpolate", "decode the path between two images' codes (a GAN: two seeds' codes)",
                       cmd_interpolate)
    s.add_argument("--from", dest="start", type=int, required=True, metavar="I",
                   help="index of the first image (a GAN run: the seed of the first code)")
    s.add_argument("--to", dest="end", type=int, required=True, metavar="J",
                   help="index of the last image (a GAN run: the seed of the last code)")
    s.add_argument("--steps", type=int, default=10)
    s.add_argument("--slerp", action="store_true", help="spherical instead of linear interpolation")
    _no_ema_option(s)

    s = sub.add_parser("mix", help="a StyleGAN run's style-mixing grid: coarse, middle and fine styles from a "
                                   "second code")
    s.add_argument("run_dir")
    s.add_argument("--rows", type=int, default=4, help="sources A down the side (default 4)")
    s.add_argument("--cols", type=int, default=4, help="sources B across the top (default 4)")
    s.add_argument("--styles", nargs="+", default=["coarse", "middle", "fine"], metavar="RANGE",
                   help="the ranges of style layers taken from B, a block each: coarse, middle, fine (default all)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="psi in (0, 1] (1: none)")
    s.add_argument("--out", metavar="PNG", help="the figure (default RUN/figures/mix.png)")
    _no_ema_option(s)
    _run_options(s)
    s.set_defaults(fn=cmd_mix)

    s = sub.add_parser("embed", help="the codes of a split's images, and a 2-D scatter of them by class")
    s.add_argument("run_dir")
    s.add_argument("--split", default="test")
    s.add_argument("--out", metavar="NPZ", help="codes and labels (default RUN/codes_<split>.npz)")
    s.add_argument("--plot", metavar="PNG", help="draw the codes (PCA of them when they have more than two dimensions)")
    _run_options(s)
    s.set_defaults(fn=cmd_embed)

    s = sub.add_parser("forecast", help="a forecasting run's forecast beyond the end of its series (or of another "
                                        "series of the same columns)")
    s.add_argument("run_dir")
    s.add_argument("--horizon", type=int, help="points to forecast (default: the model's horizon; longer forecasts "
                                               "feed the model its own forecasts)")
    s.add_argument("--data", help="forecast this series instead (csv:PATH or a named series, same columns)")
    s.add_argument("--data-root")
    s.add_argument("--out", metavar="CSV", help="write the forecast and its intervals here (else print them)")
    s.add_argument("--plot", metavar="PNG", help="draw the series' end and the forecast")
    _run_options(s)
    s.set_defaults(fn=cmd_forecast)

    s = sub.add_parser("detect", help="an anomaly-detection run's flagged points on its series (or on another "
                                      "series of the same columns)")
    s.add_argument("run_dir")
    s.add_argument("--data", help="score this series instead (csv:PATH or a named series, same columns)")
    s.add_argument("--data-root")
    s.add_argument("--out", metavar="CSV", help="write the flagged times, scores and values here (else print them)")
    s.add_argument("--plot", metavar="PNG", help="draw the series and the flagged points")
    _run_options(s)
    s.set_defaults(fn=cmd_detect)

    s = sub.add_parser("search", help="neural architecture search: train candidates of a space, keep the best "
                                      "(then: archzoo train nas:RUN --data NAME)")
    s.add_argument("--space", help="macro (a CNN of archzoo blocks) or cell (the NAS-Bench-201 cell)")
    s.add_argument("--strategy", help="random, evolution (regularized evolution) or reinforce (an LSTM controller)")
    s.add_argument("--data", help="an image classification dataset (the trials use its training split only)")
    s.add_argument("--data-root")
    s.add_argument("--trials", type=int, help="the budget in candidates")
    s.add_argument("--max-time", type=float, metavar="SECONDS", help="the budget in wall seconds")
    s.add_argument("--objective", default="accuracy", help="accuracy (default), accuracy,params or accuracy,macs "
                                                           "(two objectives: a Pareto front)")
    s.add_argument("--workers", type=int, default=1, help="trials at once (default 1)")
    s.add_argument("--executor", default="local", help="local (default: this process, or a pool of --workers "
                                                      "processes) or ray")
    s.add_argument("--address", help="ray: the cluster's address (default: start a local instance)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--max-params", type=int, default=0, help="propose no candidate above this many parameters")
    s.add_argument("--max-macs", type=int, default=0, help="propose no candidate above this many MACs per image")
    s.add_argument("--population", type=int, default=0,
                   help="evolution: the population (default: scaled to the budget)")
    s.add_argument("--tournament", type=int, default=0, help="evolution: the tournament size (default: a quarter of "
                                                            "the population)")
    s.add_argument("--trial-epochs", type=int, default=2, help="epochs each candidate trains (default 2)")
    s.add_argument("--trial-subset", type=int, default=15_000,
                   help="training images each trial draws, validation included (default 15,000)")
    s.add_argument("--val-size", type=int, default=5_000, help="of those, the validation images (default 5,000)")
    s.add_argument("--threads", type=int, default=0, help="torch threads per trial (default: cores / workers)")
    s.add_argument("--proxy", help="synflow or naswot: propose the best of --proxy-candidates by this zero-cost proxy")
    s.add_argument("--proxy-candidates", type=int, default=10)
    s.add_argument("--out", help="the search directory (default runs/search-<space>-<strategy>-<data>-<time>)")
    s.add_argument("--resume", metavar="RUN", help="continue the search in RUN")
    s.add_argument("--quiet", action="store_true", help="no line per trial")
    s.set_defaults(fn=cmd_search)

    s = _image_command(sub, "style", "a conditional VAE: one image's code decoded under every class", cmd_style)
    s.add_argument("--from", dest="start", type=int, required=True, metavar="I", help="index of the image")
    return p


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Warnings on the command line: one line each, without the source location."""
    print(f"archzoo: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    from archzoo.engine import RunDirError, TrainingDiverged

    warnings.showwarning = _show_warning
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a flag argparse rejected (already printed)
        return int(exc.code or 0)
    try:
        code = args.fn(args)
        sys.stdout.flush()  # a reader that went away shows up here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        # `archzoo list | head`: the reader closed the pipe. End quietly, as a Unix tool killed by
        # SIGPIPE does, with stdout on os.devnull so the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    except (*BAD_INPUT, RunDirError, UsageError) as exc:
        print(f"archzoo: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"archzoo: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
