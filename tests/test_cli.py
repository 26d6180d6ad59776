"""The command line: exit codes, one-line errors, and each command end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archzoo.cli import main


def _fails(capsys, argv: list[str], *needles: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, f"exit {code}, stderr {err!r}"
    assert len(err.splitlines()) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
    return err


def test_unknown_model_and_dataset_suggest_names(capsys) -> None:
    _fails(capsys, ["train", "lenet", "--data", "fashion-mnist"], "unknown model 'lenet'", "lenet5")
    _fails(capsys, ["train", "lenet5", "--data", "fashion-mnis"], "unknown dataset 'fashion-mnis'", "fashion-mnist")
    _fails(capsys, ["info", "resnet-18"], "unknown model")


def test_data_not_found_says_where_and_how(capsys, tmp_path: Path, monkeypatch) -> None:
    from archzoo.data import files

    spec = files.SOURCES["fashion-mnist"]
    monkeypatch.setitem(files.SOURCES, "fashion-mnist",
                        files.Source(spec.name, spec.files, ("http://127.0.0.1:9/",), (tmp_path / "sys",),
                                     spec.debian_package))
    err = _fails(capsys, ["train", "lenet5", "--data", "fashion-mnist", "--data-root", str(tmp_path / "empty"),
                          "--out", str(tmp_path / "run")])
    for needle in (str(tmp_path / "empty"), "dataset-fashion-mnist", "ARCHZOO_DATA", "http"):
        assert needle in err, (needle, err)


def test_non_positive_values(capsys, tmp_path: Path) -> None:
    base = ["train", "mlp", "--data", "digits", "--out", str(tmp_path / "r")]
    _fails(capsys, [*base, "--lr", "0"], "--lr must be positive")
    _fails(capsys, [*base, "--epochs", "-1"], "--epochs must be positive")
    _fails(capsys, [*base, "--batch-size", "0"], "--batch-size must be positive")
    _fails(capsys, [*base, "--epochs", "two"], "invalid int value")
    _fails(capsys, [*base, "--set", "nosuchoption=1"], "no option 'nosuchoption'")
    _fails(capsys, [*base, "--optimizer", "adamax"], "unknown optimizer 'adamax'", "adamw")


def test_channel_mismatch_says_how_to_set_in_channels(capsys, tmp_path: Path, real_data_root: Path) -> None:
    _fails(capsys, ["train", "lenet5_modern", "--data", "fashion-mnist", "--data-root", str(real_data_root),
                    "--set", "in_channels=3", "--out", str(tmp_path / "r")],
           "(B, 3, 28, 28)", "in_channels=1")


def test_out_must_be_empty_and_resume_must_be_a_run(capsys, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    _fails(capsys, ["train", "mlp", "--data", "digits", "--out", str(busy)], "is not empty", "--out")
    assert (busy / "notes.txt").read_text() == "mine"  # nothing lost
    _fails(capsys, ["train", "--resume", str(busy)], "not an archzoo run directory")
    _fails(capsys, ["eval", str(busy)], "not an archzoo run directory")


def test_train_eval_resume_end_to_end(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "mlp", "--data", "digits", "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(run) in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_done"] == 2
    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(summary["metrics"]["test"]["accuracy"])
    # a finished run asked to go on for more epochs continues from its last checkpoint
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    assert json.loads((run / "summary.json").read_text())["epochs_done"] == 3
    _fails(capsys, ["train", "mlp", "--data", "digits", "--out", str(run)], "is not empty", "--resume")


def test_list_info_datasets(capsys) -> None:
    assert main(["list", "lenet*"]) == 0
    out = capsys.readouterr().out
    assert "lenet5 " in out and "60,000" in out and "61,706" in out
    assert main(["info", "lenet5_modern", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "c3" in out and "4x16x10x10" in out and "61,706" in out and "MACs" in out
    assert "peak memory of one training step" in out
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist" in out and "iris" in out and "sine" in out
    _fails(capsys, ["info", "lenet5", "--input", "1,20,20"], "28x28")
    _fails(capsys, ["info", "lenet5", "--input", "a,b"], "--input")


def test_tensorboard_writes_the_metrics_as_event_files(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main(["train", "mlp", "--data", "digits", "--epochs", "2", "--tensorboard", "--quiet",
                 "--out", str(tmp_path / "tb")]) == 0
    events = EventAccumulator(str(tmp_path / "tb" / "tensorboard"))
    events.Reload()
    accuracy = events.Scalars("val/accuracy")
    assert [e.step for e in accuracy] == [1, 2]
    logged = [json.loads(line) for line in (tmp_path / "tb" / "metrics.jsonl").read_text().splitlines()]
    assert accuracy[-1].value == pytest.approx(logged[1]["accuracy"])


def test_tensorboard_without_the_package_is_a_clear_error(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what an environment without it sees
    _fails(capsys, ["train", "mlp", "--data", "digits", "--epochs", "1", "--tensorboard", "--quiet",
                    "--out", str(tmp_path / "tb")], "pip install tensorboard")


def test_console_script_exit_code_and_stderr(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "archzoo.cli", "train", "nosuch", "--data", "digits"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown model" in proc.stderr


@pytest.mark.slow
def test_classification_on_real_data_moves_far_past_chance(tmp_path: Path, real_data_root: Path) -> None:
    code = main(["train", "lenet5_modern", "--data", "fashion-mnist", "--data-root", str(real_data_root),
                 "--subset", "6000", "--epochs", "2", "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 0
    acc = json.loads((tmp_path / "r" / "summary.json").read_text())["metrics"]["test"]["accuracy"]
    assert acc > 0.7, acc  # chance is 0.1


@pytest.mark.slow
def test_perceptron_and_regression_through_the_cli(tmp_path: Path) -> None:
    assert main(["train", "perceptron", "--data", "iris", "--out", str(tmp_path / "p"), "--quiet"]) == 0
    acc = json.loads((tmp_path / "p" / "summary.json").read_text())["metrics"]["test"]["accuracy"]
    assert acc > 0.8, acc  # three classes, chance 1/3
    assert main(["train", "mlp", "--data", "sine", "--out", str(tmp_path / "s"), "--quiet"]) == 0
    err = json.loads((tmp_path / "s" / "summary.json").read_text())["metrics"]["test"]["max_error"]
    assert err < 0.05, err


def test_named_recipe_then_flags_override_it(tmp_path: Path, real_data_root: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "resnet20", "--data", "fashion-mnist", "--data-root", str(real_data_root), "--recipe", "long",
                 "--epochs", "1", "--subset", "256", "--batch-size", "64", "--out", str(run), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["recipe"], config["augment"], config["epochs"], config["batch_size"]) == ("long", "crop_flip", 1, 64)
    assert json.loads((run / "summary.json").read_text())["epochs_done"] == 1


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    # `archzoo list | head -1`, made deterministic: the reader is gone before anything is written
    proc = subprocess.Popen([sys.executable, "-m", "archzoo.cli", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == "" and code == 141  # 128 + SIGPIPE, what a Unix tool killed by it reports


def _run_with_config(tmp_path: Path, text: str) -> Path:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.json").write_text("{}")
    (run / "config.json").write_text(text)
    return run


@pytest.mark.parametrize("text", ['{"model": "mlp", "data": "digits",', '["mlp"]', '{"model": "mlp"}',
                                  '{"model": "mlp", "data": "digits", "epochs": "3"}'])
def test_a_damaged_config_json_is_bad_input_naming_the_file(capsys, tmp_path: Path, text: str) -> None:
    run = _run_with_config(tmp_path, text)
    _fails(capsys, ["eval", str(run)], str(run / "config.json"), "start a new run")
    _fails(capsys, ["train", "--resume", str(run), "--quiet"], str(run / "config.json"))


def test_resume_with_both_checkpoints_damaged_is_bad_input(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "mlp", "--data", "digits", "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    for name in ("last", "previous"):
        (run / "checkpoints" / f"{name}.safetensors").write_bytes(b"damaged")
    _fails(capsys, ["train", "--resume", str(run), "--epochs", "3", "--quiet"],
           "no usable checkpoint", "last.safetensors", "previous.safetensors")
