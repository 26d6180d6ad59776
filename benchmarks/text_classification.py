"""MR sentence polarity, 10-fold cross-validation: archzoo's text classifiers beside a classical baseline.

    python benchmarks/text_classification.py                         # kim_cnn, lstm_classifier, transformer_classifier
    python benchmarks/text_classification.py --models kim_cnn --folds 10

Every model runs `archzoo train MODEL --data mr --folds K` (its default recipe) in its own process,
one after the other on the same machine. The baseline, in the same run and on the same K folds
(archzoo.data.text.TextClassificationSet.folds: fixed and stratified), is scikit-learn's logistic
regression on TF-IDF unigrams and bigrams: what a user would reach for first. Reports the mean and
sample standard deviation of test accuracy and macro-F1 over the folds and the wall time per fold.
Kim (2014) reports 76.1% for CNN-rand on MR. Writes docs/results/<out>.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import archzoo
from _common import git_commit, load_average, machine, stamp, write_result
from archzoo.data.text import TextClassificationSet

PAPER = {"kim_cnn": "76.1% (Kim 2014, CNN-rand)"}


def baseline(folds: int) -> dict:
    """TF-IDF (unigrams and bigrams) + logistic regression on the same folds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    ds = archzoo.load_dataset("mr")
    assert isinstance(ds, TextClassificationSet)
    texts, labels = ds.texts["train"], ds.labels["train"].numpy()
    accs, f1s, times = [], [], []
    for train_idx, test_idx in ds.folds(folds):
        t0 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        x_train = vec.fit_transform([texts[i] for i in train_idx.tolist()])  # fitted on the training folds only
        clf = LogisticRegression(C=4.0, max_iter=2000).fit(x_train, labels[train_idx.numpy()])
        pred = clf.predict(vec.transform([texts[i] for i in test_idx.tolist()]))
        truth = labels[test_idx.numpy()]
        accs.append(accuracy_score(truth, pred))
        f1s.append(f1_score(truth, pred, average="macro"))
        times.append(time.perf_counter() - t0)
    return {"model": "TF-IDF 1-2 grams + logistic regression (scikit-learn)", "accuracy_mean": statistics.mean(accs),
            "accuracy_std": statistics.stdev(accs), "macro_f1_mean": statistics.mean(f1s),
            "fold_time_s": statistics.mean(times), "params": None}


def archzoo_cv(model: str, folds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", model, "--data", "mr", "--folds", str(folds),
               "--out", str(out), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        config = json.loads((out / "folds" / "0" / "config.json").read_text())
    cv = summary["metrics"]["cv"]
    return {"model": model, "accuracy_mean": cv["accuracy_mean"], "accuracy_std": cv["accuracy_std"],
            "macro_f1_mean": cv["macro_f1_mean"], "fold_time_s": summary.get("fold_time_mean_s"),
            "params": summary["params"], "epochs": config["epochs"],
            "process_wall_s": round(wall, 1), "folds": summary.get("folds")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["kim_cnn", "lstm_classifier", "transformer_classifier"])
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--out", default="text_classification_mr")
    args = p.parse_args()
    rows = [baseline(args.folds)]
    print(json.dumps(rows[-1]), flush=True)
    for model in args.models:
        rows.append(archzoo_cv(model, args.folds))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "folds"}), flush=True)
    lines = [f"# MR sentence polarity, {args.folds}-fold cross-validation\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/text_classification.py {' '.join(sys.argv[1:])}`: each archzoo model is "
             f"`archzoo train MODEL --data mr --folds {args.folds}` with its default recipe; the baseline runs on "
             "the same folds in the same process as this script. No pretrained embeddings anywhere.\n",
             "| model | test accuracy, mean ± std | macro-F1, mean | wall time per fold | published |",
             "|---|---:|---:|---:|---|"]
    for r in rows:
        name = (f"`{r['model']}` ({r['params']:,} parameters, {r['epochs']} epochs)" if "epochs" in r
                else r["model"])
        time_s = f"{r['fold_time_s']:.1f} s" if r["fold_time_s"] is not None else ""
        lines.append(f"| {name} | {100 * r['accuracy_mean']:.2f}% ± {100 * r['accuracy_std']:.2f} | "
                     f"{100 * r['macro_f1_mean']:.2f}% | {time_s} | {PAPER.get(r['model'], '')} |")
    print(write_result(args.out, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
