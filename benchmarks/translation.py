"""Multi30k translation: archzoo's translators trained with their default recipes, scored by sacreBLEU.

    python benchmarks/translation.py                                   # de->en: the three models
    python benchmarks/translation.py --models transformer_small --data multi30k-en-de --out translation_en_de
    python benchmarks/translation.py --max-time 3600                   # each training capped at an hour

Each model is `archzoo train MODEL --data DATA [--max-time T]` in its own process, one after the
other on the same machine; then `archzoo eval RUN --split S --checkpoint best` scores the weights
chosen on validation BLEU on the reported test set (test_2016_flickr) and on test_2017_flickr,
test_2017_mscoco and test_2018_flickr, decoded with beam 5 and greedily (`--rescore` scores runs
already trained again). BLEU is sacreBLEU's corpus BLEU on
detokenized output against the raw references, cased (`bleu`, the signature is in the table) and
lowercased (`bleu_lc`). Writes docs/results/<out>.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import git_commit, load_average, machine, stamp, write_result

OTHER_TESTS = ("test_2017_flickr", "test_2017_mscoco", "test_2018_flickr")
# bentrevett/pytorch-seq2seq, Multi30k de->en test_2016, spaCy-tokenized lowercased BLEU (torchtext), GPU
ANCHORS = {"transformer_small": "36.52 (notebook 6)", "seq2seq_attention": "28.30 (notebook 3)"}


def train_and_score(model: str, data: str, runs: Path, max_time: float, rescore: bool) -> dict:
    out = runs / f"{model}-{data}"
    wall = None
    if not (rescore and (out / "summary.json").is_file()):
        cmd = [sys.executable, "-m", "archzoo.cli", "train", model, "--data", data, "--out", str(out), "--quiet"]
        if max_time:
            cmd += ["--max-time", str(max_time)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = round(time.perf_counter() - t0, 1)
    summary = json.loads((out / "summary.json").read_text())
    config = json.loads((out / "config.json").read_text())
    tests = {}
    for split in ("test", *OTHER_TESTS):  # the checkpoint chosen on validation BLEU, every test set
        result = subprocess.run([sys.executable, "-m", "archzoo.cli", "eval", str(out), "--split", split,
                                 "--checkpoint", "best", "--json"], check=True, capture_output=True, text=True)
        tests["test_2016_flickr" if split == "test" else split] = json.loads(result.stdout)
    if "test" in summary["metrics"]:
        last_bleu = summary["metrics"]["test"]["bleu"]
    else:  # stopped by --max-time before the final evaluation: score the weights it stopped with
        result = subprocess.run([sys.executable, "-m", "archzoo.cli", "eval", str(out), "--split", "test",
                                 "--checkpoint", "last", "--json"], check=True, capture_output=True, text=True)
        last_bleu = json.loads(result.stdout)["bleu"]
    train_tokens = config["dataset"].get("train_tokens")
    return {"model": model, "data": data, "params": summary["params"], "precision": config["precision"],
            "epochs": summary["epochs_done"], "epochs_planned": config["epochs"],
            "stop_reason": summary["stop_reason"], "wall_time_s": summary["wall_time_s"], "process_wall_s": wall,
            "last_weights_test_2016_bleu": last_bleu,
            "train_tokens_per_s": (train_tokens * summary["epochs_done"] / summary["wall_time_s"]
                                   if train_tokens else None),
            "best_epoch": summary["best"]["epoch"], "val_bleu_greedy": summary["best"]["value"],
            "tests": {split: {k: v for k, v in m.items() if k in ("bleu", "bleu_lc", "chrf", "bleu_greedy", "loss",
                                                                  "perplexity", "decoding", "decode_s",
                                                                  "decode_tokens_per_s", "signature", "sentences",
                                                                  "checkpoint")}
                      for split, m in tests.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["transformer_small", "seq2seq_attention", "seq2seq_gru"])
    p.add_argument("--data", default="multi30k-de-en")
    p.add_argument("--max-time", type=float, default=0.0, help="cap each training at this many seconds")
    p.add_argument("--runs", default="runs/translation", help="where the runs are kept (for `archzoo translate`)")
    p.add_argument("--out", default="translation_de_en")
    p.add_argument("--rescore", action="store_true", help="score runs already trained in --runs again, not retrain")
    args = p.parse_args()
    runs = Path(args.runs)
    rows = []
    for model in args.models:
        rows.append(train_and_score(model, args.data, runs, args.max_time, args.rescore))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "tests"}), flush=True)
    signature = rows[0]["tests"]["test_2016_flickr"]["signature"]["bleu"] if rows else ""
    lines = [f"# Multi30k {args.data.removeprefix('multi30k-')}: sacreBLEU\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/translation.py {' '.join(sys.argv[1:])}`: each model is `archzoo train MODEL "
             f"--data {args.data}` with its default recipe, then `archzoo eval RUN --split S --checkpoint best` for "
             f"every test set (the weights of the best validation BLEU, greedy). "
             f"BLEU signature: `{signature}` (bleu_lc: the same with `case:lc`).\n",
             "| model | parameters | epochs (best) | training wall time | training target tokens/s | "
             "test_2016 BLEU (beam 5) | BLEU lowercased | chrF | BLEU greedy | BLEU, last epoch's weights | "
             "decoding, target tokens/s | anchor (tokenized, lowercased) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        t = r["tests"]["test_2016_flickr"]
        speed = f"{r['train_tokens_per_s']:,.0f}" if r["train_tokens_per_s"] else ""
        epochs = f"{r['epochs']}" if not r.get("stop_reason") else \
            f"{r['epochs']} of {r['epochs_planned']}, stopped by the time cap"
        lines.append(f"| `{r['model']}` | {r['params']:,} | {epochs} ({r['best_epoch']}) | "
                     f"{r['wall_time_s'] / 60:.1f} min | {speed} | {t['bleu']:.2f} | {t['bleu_lc']:.2f} | "
                     f"{t['chrf']:.2f} | {t.get('bleu_greedy', float('nan')):.2f} | "
                     f"{r['last_weights_test_2016_bleu']:.2f} | "
                     f"{t['decode_tokens_per_s']:,.0f} | "
                     f"{ANCHORS.get(r['model'], '') if args.data == 'multi30k-de-en' else ''} |")
    lines += ["", "Other test sets (best checkpoint, beam 5; cased BLEU / lowercased / greedy cased):", "",
              "| model | " + " | ".join(OTHER_TESTS) + " |", "|---|" + "---:|" * len(OTHER_TESTS)]
    for r in rows:
        cells = [f"{r['tests'][s]['bleu']:.2f} / {r['tests'][s]['bleu_lc']:.2f} / "
                 f"{r['tests'][s].get('bleu_greedy', float('nan')):.2f}" for s in OTHER_TESTS]
        lines.append(f"| `{r['model']}` | " + " | ".join(cells) + " |")
    print(write_result(args.out, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
