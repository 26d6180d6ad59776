"""Autoencoders and VAEs on Fashion-MNIST, each application against the method a user would otherwise use,
measured in the same run on the same split.

    python benchmarks/autoencoders.py                       # every part
    python benchmarks/autoencoders.py --parts vae samples   # some parts

Parts:
  vae       benchmarks/reference_vae_example.py (PyTorch's vae example: 10 epochs, per-sample DataLoader)
            against `archzoo train vae_mlp` and `vae_conv` with their default recipes: test negative ELBO
            (one code per image, nats) and training wall time; nll_iw (k = 100) for archzoo's. The reference
            and vae_mlp train three times each, alternating: median times.
  dimred    2-D codes of `ae_mlp --set latent_dim=2` against PCA and t-SNE (scikit-learn) of the raw pixels
            of the 10,000 test images: 5-NN accuracy in 2-D (5-fold cross-validation), trustworthiness
            (5 neighbours), wall time.
  features  a logistic regression on 32-D codes (ae_mlp; vae_mlp with latent_dim=32: posterior means)
            against PCA-32 and the raw pixels: fitted on the training images, test accuracy.
  denoise   ae_conv (its 32-D code, and a 512-D code without the hidden layer, 10 epochs each; the 512-D one
            again on the squared error for 20 epochs) trained with Gaussian noise of sigma 0.1, 0.3, 0.5:
            PSNR on the first 1,000 test images against the noisy input and scikit-image's non-local means
            (its h chosen on training images).
  anomaly   one class at a time (train on it, score all test images) and 9 against 1 (train on the other
            nine): AUROC of the autoencoders' reconstruction error (ae_mlp; ae_conv one class only) and
            the VAEs' negative ELBO (vae_mlp; vae_conv one class only), 40 epochs on one class and 10 on
            nine, against PCA-32 reconstruction error, a one-class SVM and an isolation forest on the raw pixels.
  anomaly_scores  one class at a time: ae_mlp's runs of the anomaly part scored by the reconstruction error,
            by the code's Mahalanobis distance from the training codes, and by both standardised and summed
            (Abati et al. 2019; archzoo.analysis.latent.image_scores), against the same baselines.
  samples   metrics.samples (fid_clf, kid_clf, classes covered, class TV, with the floor) of vae_mlp,
            vae_conv (from the vae part) and cvae.

Writes docs/results/autoencoders.{md,json} (the parts measured, merged with those already there).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from _common import measured, run_parts

HERE = Path(__file__).resolve().parent
PARTS = ("vae", "dimred", "features", "denoise", "anomaly", "anomaly_scores", "samples")


def archzoo_train(model: str, out: Path, *args: str) -> dict:
    """`archzoo train MODEL --data fashion-mnist ARGS` into ``out`` (reused when already finished)."""
    if not (out / "summary.json").is_file():
        subprocess.run([sys.executable, "-m", "archzoo.cli", "train", model, "--data", "fashion-mnist", "--out",
                        str(out), "--quiet", *args], check=True)
    return json.loads((out / "summary.json").read_text())


def training_seconds(run: Path) -> float:
    """Wall seconds to the end of the last epoch's validation (the final test evaluation not included)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return max(r["elapsed_s"] for r in rows if r["split"] == "val")


VAE_REPEATS = 3  # the reference and vae_mlp each train this many times, alternating; the table gives median times


def _reference_vae() -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(HERE / "reference_vae_example.py")], check=True, capture_output=True,
                         text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {"test_neg_elbo": lines[-1]["test_loss"], "train_s": lines[-2]["elapsed_s"], "params": lines[-1]["params"],
            "process_s": round(time.perf_counter() - t0, 1), "epochs": len(lines) - 1}


def _vae_row(model: str, run: Path) -> dict:
    summary = archzoo_train(model, run)
    test = summary["metrics"]["test"]
    return {"test_neg_elbo": test["neg_elbo"], "recon": test["recon"], "kl": test["kl"],
            "nll_iw": test.get("nll_iw"), "active_units": test["active_units"], "psnr": test["psnr"],
            "train_s": training_seconds(run), "run_s": summary["wall_time_s"],
            "params": summary["params"], "epochs": summary["epochs_done"]}


def part_vae(runs: Path) -> dict:
    """The reference and vae_mlp trained VAE_REPEATS times each, alternating (a slow patch of the machine hits
    both alike): median training times, every time listed; vae_conv once. vae_mlp's timed runs are fresh
    (vae_mlp_timing<i>, seeds equal: the same -ELBO, only the time differs)."""
    refs, mlps = [], []
    for i in range(VAE_REPEATS):
        refs.append(_reference_vae())
        run = runs / f"vae_mlp_timing{i}"
        shutil.rmtree(run, ignore_errors=True)  # a timing is a fresh measurement, never a reused run
        mlps.append(_vae_row("vae_mlp", run))
    rows = {"reference": dict(refs[0], train_s=float(np.median([r["train_s"] for r in refs])),
                              train_s_all=[r["train_s"] for r in refs]),
            "vae_mlp": dict(mlps[0], train_s=float(np.median([r["train_s"] for r in mlps])),
                            train_s_all=[r["train_s"] for r in mlps]),
            "vae_conv": _vae_row("vae_conv", runs / "vae_conv")}
    assert len({r["test_neg_elbo"] for r in mlps}) == 1, "repeats of one seeded run must agree"
    return rows


def _knn_accuracy(points: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    return float(cross_val_score(KNeighborsClassifier(5), points, labels, cv=5).mean())


def _codes(run: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    from archzoo.analysis import latent

    loaded = latent.load_run(run, "embed", ("reconstruction", "vae"), device="cpu")
    codes, labels = latent.encode_split(loaded, split)
    return codes.numpy(), labels.numpy()


def _pixels(split: str) -> tuple[np.ndarray, np.ndarray]:
    import archzoo

    s = archzoo.load_dataset("fashion-mnist").splits[split]
    return s.x.reshape(len(s.x), -1).float().div(255).numpy(), s.y.numpy()


def part_dimred(runs: Path) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, trustworthiness

    x, y = _pixels("test")
    t0 = time.perf_counter()
    archzoo_train("ae_mlp", runs / "ae_mlp_2d", "--set", "latent_dim=2")
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ae, _ = _codes(runs / "ae_mlp_2d", "test")
    ae_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pca = PCA(2, random_state=0).fit_transform(x)
    pca_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tsne = TSNE(2, init="pca", random_state=0).fit_transform(x)
    tsne_s = time.perf_counter() - t0
    out = {}
    for name, points, seconds in (("ae_mlp (2-D code)", ae, ae_s), ("PCA", pca, pca_s), ("t-SNE", tsne, tsne_s)):
        out[name] = {"knn5_accuracy": _knn_accuracy(points, y),
                     "trustworthiness": float(trustworthiness(x, points, n_neighbors=5)),
                     "embed_s": round(seconds, 2)}
    out["ae_mlp (2-D code)"]["train_s"] = round(train_s, 1)
    return out


def part_features(runs: Path) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from archzoo.analysis import latent

    archzoo_train("ae_mlp", runs / "ae_mlp")
    archzoo_train("vae_mlp", runs / "vae_mlp_32", "--set", "latent_dim=32")
    # the 55,000 training images the autoencoders trained on (5,000 held out for validation), for every method
    xtr, ytr, _ = latent.load_run(runs / "ae_mlp", "embed", ("reconstruction",), device="cpu").images("train")
    xtr, ytr = xtr.flatten(1).numpy(), ytr.numpy()
    xte, yte = _pixels("test")
    sets = {}
    for name, run in (("ae_mlp code (32)", "ae_mlp"), ("vae_mlp posterior mean (32)", "vae_mlp_32")):
        (a, ya), (b, yb) = _codes(runs / run, "train"), _codes(runs / run, "test")
        assert (ya == ytr).all() and (yb == yte).all(), "every method must see the same images"
        sets[name] = (a, b)
    pca = PCA(32, random_state=0).fit(xtr)
    sets["PCA-32 of the pixels"] = (pca.transform(xtr), pca.transform(xte))
    sets["raw pixels (784)"] = (xtr, xte)
    out = {}
    for name, (a, b) in sets.items():
        t0 = time.perf_counter()
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(a, ytr)
        out[name] = {"test_accuracy": float(clf.score(b, yte)), "fit_s": round(time.perf_counter() - t0, 1)}
    return out


# the denoising autoencoders: the default ae_conv (a 32-D code) and one whose code is wide enough to keep detail
# and the wide one trained on the squared error (what PSNR measures) for twice as long; name: (epochs, run, options)
WIDE = ("--set", "hidden=()", "--set", "latent_dim=512")
DAES = {"ae_conv": (10, "dae", ()), "ae_conv, 512-D code": (10, "dae_wide", WIDE),
        "ae_conv, 512-D code, MSE, 20 epochs": (20, "dae_wide_mse", (*WIDE, "--set", "recon_loss=mse"))}
NLM_H = (0.4, 0.6, 0.8, 1.0, 1.2)  # non-local means' filter strength h, in units of sigma, chosen on training images


def _nl_means(noisy: torch.Tensor, sigma: float, h: float) -> torch.Tensor:
    from skimage.restoration import denoise_nl_means

    return torch.stack([torch.from_numpy(denoise_nl_means(img[0].numpy(), h=h * sigma, sigma=sigma, patch_size=5,
                                                          patch_distance=6, fast_mode=True))
                        for img in noisy]).unsqueeze(1).float()


def part_denoise(runs: Path) -> dict:
    from archzoo.analysis import latent
    from archzoo.tasks.reconstruction import corrupt, psnr

    x = torch.from_numpy(_pixels("test")[0][:1000]).view(-1, 1, 28, 28)
    tune = torch.from_numpy(_pixels("train")[0][:200]).view(-1, 1, 28, 28)
    out = {}
    for sigma in (0.1, 0.3, 0.5):
        noisy = corrupt(x, "gaussian", sigma, torch.Generator().manual_seed(0))
        tune_noisy = corrupt(tune, "gaussian", sigma, torch.Generator().manual_seed(1))
        h = max(NLM_H, key=lambda f: float(psnr(_nl_means(tune_noisy, sigma, f), tune).mean()))
        t0 = time.perf_counter()
        nlm = _nl_means(noisy, sigma, h)
        row = {"noisy_psnr": float(psnr(noisy, x).mean()), "nl_means_psnr": float(psnr(nlm, x).mean()),
               "nl_means_h": h, "nl_means_s": round(time.perf_counter() - t0, 2), "dae": {}}
        for name, (epochs, prefix, options) in DAES.items():
            run = runs / f"{prefix}_{sigma}"
            archzoo_train("ae_conv", run, "--epochs", str(epochs), "--set", "noise=gaussian",
                          "--set", f"noise_level={sigma}", *options)
            loaded = latent.load_run(run, "reconstruct", ("reconstruction",), device="cpu")
            t0 = time.perf_counter()
            with torch.no_grad():
                dae = torch.cat([loaded.model.reconstruct(noisy[i:i + 500]) for i in range(0, len(noisy), 500)])
            row["dae"][name] = {"psnr": float(psnr(dae, x).mean()), "s": round(time.perf_counter() - t0, 2),
                                "params": sum(p.numel() for p in loaded.model.parameters()),
                                "train_s": training_seconds(run), "epochs": epochs}
        out[str(sigma)] = row
    return out


# archzoo's detectors in each setting (the convolutional ones train on one class only: 5,500 images, not 50,000)
DETECTORS = {"one_class": ("ae_mlp", "vae_mlp", "ae_conv", "vae_conv"), "nine_vs_one": ("ae_mlp", "vae_mlp")}
# one class is 5,500 training images (43 steps an epoch): 40 epochs give it about the steps of 4 epochs on nine
ANOMALY_EPOCHS = {"one_class": 40, "nine_vs_one": 10}


def part_anomaly(runs: Path) -> dict:
    from sklearn.metrics import roc_auc_score

    from archzoo.analysis import latent

    xtr, ytr = _pixels("train")
    xte, yte = _pixels("test")
    out: dict = {setting: {} for setting in DETECTORS}
    for setting, models in DETECTORS.items():
        for c in range(10):
            normal = [c] if setting == "one_class" else [k for k in range(10) if k != c]
            anomalous = ~np.isin(yte, normal)
            keep = ",".join(map(str, normal))
            row = {}
            for model in models:
                run = runs / f"anomaly_{setting}_{c}_{model}"
                archzoo_train(model, run, "--epochs", str(ANOMALY_EPOCHS[setting]),
                              "--set", f"train_classes={keep}", "--set", "iw_samples=0",
                              "--set", "eval_samples=0")
                scores, _ = latent.image_scores(latent.load_run(run, "score", ("reconstruction", "vae"),
                                                                device="cpu"), "test")
                row[model] = float(roc_auc_score(anomalous, scores.numpy()))
            out[setting][str(c)] = {**row, **baseline_aurocs(xtr[np.isin(ytr, normal)], xte, anomalous)}
    for rows in out.values():
        add_mean(rows)
    return out


def add_mean(rows: dict) -> None:
    methods = next(iter(rows.values())).keys()
    rows["mean"] = {m: float(np.mean([rows[str(c)][m] for c in range(10)])) for m in methods}


def baseline_aurocs(fit: np.ndarray, xte: np.ndarray, anomalous: np.ndarray) -> dict[str, float]:
    """AUROC of the classical detectors fitted on the normal training pixels ``fit``, scoring ``xte``."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.svm import OneClassSVM

    pca = PCA(32, random_state=0).fit(fit)
    recon = pca.inverse_transform(pca.transform(xte))
    sub = fit[np.random.default_rng(0).permutation(len(fit))[:10000]]  # the SVM is quadratic in n
    return {"PCA-32 reconstruction error": float(roc_auc_score(anomalous, ((xte - recon) ** 2).mean(1))),
            "one-class SVM": float(roc_auc_score(anomalous, -OneClassSVM(nu=0.1, gamma="scale").fit(sub)
                                                 .score_samples(xte))),
            "isolation forest": float(roc_auc_score(anomalous, -IsolationForest(random_state=0).fit(fit)
                                                    .score_samples(xte)))}


def part_anomaly_scores(runs: Path) -> dict:
    """ae_mlp's one-class runs of the anomaly part scored three ways (latent.ANOMALY_SCORES) beside the baselines."""
    from sklearn.metrics import roc_auc_score

    from archzoo.analysis import latent

    xtr, ytr = _pixels("train")
    xte, yte = _pixels("test")
    rows: dict = {}
    for c in range(10):
        run = runs / f"anomaly_one_class_{c}_ae_mlp"
        archzoo_train("ae_mlp", run, "--epochs", str(ANOMALY_EPOCHS["one_class"]), "--set", f"train_classes={c}",
                      "--set", "iw_samples=0", "--set", "eval_samples=0")
        loaded = latent.load_run(run, "score", ("reconstruction",), device="cpu")
        anomalous = yte != c
        rows[str(c)] = {f"ae_mlp, {score}": float(roc_auc_score(anomalous, latent.image_scores(loaded, "test",
                                                                                                score=score)[0]))
                        for score in latent.ANOMALY_SCORES}
        rows[str(c)].update(baseline_aurocs(xtr[ytr == c], xte, anomalous))
    add_mean(rows)
    return rows


def part_samples(runs: Path) -> dict:
    out = {}
    for model in ("vae_mlp", "vae_conv", "cvae"):
        summary = archzoo_train(model, runs / model)
        out[model] = summary["metrics"]["samples"]
    return out


def markdown(results: dict, metas: dict) -> str:
    lines = ["# Autoencoders and VAEs on Fashion-MNIST", "",
             "Each part trains archzoo's models with their default recipes (unless said) and runs its baseline in "
             "the same process, on the same images; under each heading, the run that measured it.", ""]

    if "vae" in results:
        r = results["vae"]
        def times(row: dict) -> str:
            every = row.get("train_s_all", [])
            return f"{row['train_s']:.1f} s" + (f" ({', '.join(f'{t:.1f}' for t in every)})" if len(every) > 1 else "")

        lines += ["## VAE against PyTorch's example", "", *measured(metas, "vae"),
                  "| program | parameters | epochs | training wall time (median; each run) | test -ELBO (nats/image) "
                  "| nll_iw (k=100) |", "|---|---:|---:|---:|---:|---:|"]
        lines.append(f"| reference: pytorch/examples vae (per-sample DataLoader) | {r['reference']['params']:,} | "
                     f"{r['reference']['epochs']} | {times(r['reference'])} | "
                     f"{r['reference']['test_neg_elbo']:.2f} | |")
        for m in ("vae_mlp", "vae_conv"):
            lines.append(f"| archzoo `{m}` | {r[m]['params']:,} | {r[m]['epochs']} | {times(r[m])} | "
                         f"{r[m]['test_neg_elbo']:.2f} | {r[m]['nll_iw']:.2f} |")
        lines.append("")
    if "dimred" in results:
        lines += ["## 2-D maps of the 10,000 test images", "", *measured(metas, "dimred"),
                  "| method | 5-NN accuracy in 2-D | trustworthiness (5) | wall time |", "|---|---:|---:|---:|"]
        for name, r in results["dimred"].items():
            extra = f" (+ {r['train_s']:.0f} s training, once)" if "train_s" in r else ""
            lines.append(f"| {name} | {r['knn5_accuracy']:.4f} | {r['trustworthiness']:.4f} | "
                         f"{r['embed_s']:.2f} s{extra} |")
        lines.append("")
    if "features" in results:
        lines += ["## Codes as features: logistic regression, test accuracy", "", *measured(metas, "features"),
                  "| features | accuracy | fit |", "|---|---:|---:|"]
        lines += [f"| {n} | {r['test_accuracy']:.4f} | {r['fit_s']:.1f} s |" for n, r in results["features"].items()]
        lines.append("")
    if "denoise" in results:
        rows = results["denoise"]
        daes = list(next(iter(rows.values()))["dae"])
        lines += ["## Denoising: PSNR (dB) on 1,000 test images with Gaussian noise", "", *measured(metas, "denoise"),
                  "| sigma | noisy input | non-local means (scikit-image) | " + " | ".join(f"DAE: `{d}`" for d in daes)
                  + " |", "|---:|---:|---:|" + "---:|" * len(daes)]
        lines += [f"| {s} | {r['noisy_psnr']:.2f} | {r['nl_means_psnr']:.2f} (h = {r['nl_means_h']} sigma) | "
                  + " | ".join(f"{r['dae'][d]['psnr']:.2f}" for d in daes) + " |" for s, r in rows.items()]
        first = next(iter(rows.values()))
        lines += ["", "Non-local means: patch 5, distance 6, fast mode, h chosen from "
                  f"{', '.join(map(str, NLM_H))} x sigma on 200 training images; " + "; ".join(
                      f"`{d}`: {first['dae'][d]['params']:,} parameters, {first['dae'][d].get('epochs', 10)} epochs, "
                      f"{first['dae'][d]['train_s']:.0f} s of training at sigma {next(iter(rows))}" for d in daes)
                  + ".", ""]
    if "anomaly" in results:
        for setting, title in (("one_class", "one class normal"), ("nine_vs_one", "nine classes normal")):
            rows = results["anomaly"][setting]
            methods = list(rows["mean"])
            lines += [f"## Anomaly detection, {title}: AUROC", "", *measured(metas, "anomaly"),
                      "| class | " + " | ".join(methods) + " |",
                      "|---|" + "---:|" * len(methods)]
            lines += [f"| {c} | " + " | ".join(f"{rows[c][m]:.4f}" for m in methods) + " |" for c in rows]
            lines.append("")
    if "anomaly_scores" in results:
        rows = results["anomaly_scores"]
        methods = list(rows["mean"])
        lines += ["## Anomaly detection, one class normal: ae_mlp's scores", "", *measured(metas, "anomaly_scores"),
                  "| class | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
        lines += [f"| {c} | " + " | ".join(f"{rows[c][m]:.4f}" for m in methods) + " |" for c in rows]
        lines.append("")
    if "samples" in results:
        lines += ["## Samples judged by the feature classifier", "", *measured(metas, "samples"),
                  "| model | fid_clf | floor | kid_clf | floor | classes covered | class TV | class match |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for m, r in results["samples"].items():
            match = f"{r['class_match']:.3f}" if "class_match" in r else "(unconditional)"
            lines.append(f"| `{m}` | {r['fid_clf']:.2f} | {r['fid_clf_floor']:.2f} | {r['kid_clf']:.4f} | "
                         f"{r['kid_clf_floor']:.4f} | {r['classes_covered']} | {r['class_tv']:.3f} | {match} |")
        c = next(iter(results["samples"].values()))["classifier"]
        lines += ["", "class match: the share of a conditional model's samples that the classifier puts in the "
                      "class they were asked for.", "",
                  f"Classifier: `{c['command']}` ({c['model']}, weights {c['weights_sha256']}, test accuracy "
                  f"{c['test_accuracy']:.4f}).", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--runs", default="runs/autoencoders", help="where the runs are kept (reused when finished)")
    args = p.parse_args()
    runs = Path(args.runs)
    if {"vae", "samples"} & set(args.parts):  # the feature classifier of metrics.samples, trained once, first
        from archzoo.analysis.generated import feature_classifier

        feature_classifier("fashion-mnist", progress=False)
    run_parts("autoencoders", args.parts, lambda part: globals()[f"part_{part}"](runs), markdown)


if __name__ == "__main__":
    main()
