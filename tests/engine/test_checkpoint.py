"""Checkpoints two deep: saving ``last`` keeps the one before as ``previous``, and a damaged ``last``
falls back to it, ending with the weights of an uninterrupted run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from archzoo.engine import Trainer, resume, train
from archzoo.engine import checkpoint as ckpt
from archzoo.engine.checkpoint import CheckpointError, load_checkpoint, load_latest_checkpoint, save_checkpoint


def _save(directory: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, epoch: int) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(epoch))
    save_checkpoint(directory, "last", model.state_dict(), {"main": opt}, {"epoch": epoch, "step": 0})


@pytest.fixture
def tiny() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _epoch(directory: Path, name: str) -> int:
    model_state, _, state = load_checkpoint(directory, name)
    assert torch.all(model_state["weight"] == state["epoch"])  # the tensors belong to this trainer state
    return state["epoch"]


# ---------------------------------------------------------------------------------------------
# Saving: the rotation

def test_saving_last_keeps_the_one_before_as_previous(tmp_path: Path, tiny) -> None:
    _save(tmp_path, *tiny, epoch=1)
    assert sorted(os.listdir(tmp_path)) == ["last.json", "last.safetensors"]
    first = (tmp_path / "last.safetensors").read_bytes()
    _save(tmp_path, *tiny, epoch=2)
    _save(tmp_path, *tiny, epoch=3)
    assert (_epoch(tmp_path, "last"), _epoch(tmp_path, "previous")) == (3, 2)
    assert sorted(os.listdir(tmp_path)) == ["last.json", "last.safetensors", "previous.json", "previous.safetensors"]
    assert (tmp_path / "previous.safetensors").read_bytes() != first  # each save moves it along


def test_a_damaged_last_does_not_replace_a_good_previous(tmp_path: Path, tiny) -> None:
    _save(tmp_path, *tiny, epoch=1)
    _save(tmp_path, *tiny, epoch=2)
    (tmp_path / "last.safetensors").write_bytes(b"half-written")
    _save(tmp_path, *tiny, epoch=3)
    assert (_epoch(tmp_path, "last"), _epoch(tmp_path, "previous")) == (3, 1)


def test_without_hard_links_previous_is_a_copy(tmp_path: Path, tiny, monkeypatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError("hard links are not supported here")

    monkeypatch.setattr(ckpt.os, "link", no_links)
    _save(tmp_path, *tiny, epoch=1)
    _save(tmp_path, *tiny, epoch=2)
    assert (_epoch(tmp_path, "last"), _epoch(tmp_path, "previous")) == (2, 1)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary files left


def test_at_every_instant_one_of_last_and_previous_is_whole(tmp_path: Path, tiny, monkeypatch) -> None:
    _save(tmp_path, *tiny, epoch=1)
    _save(tmp_path, *tiny, epoch=2)
    real_replace = os.replace
    seen: list[int] = []

    def replace_and_check(src, dst) -> None:  # a kill right after any rename leaves this on disk
        real_replace(src, dst)
        if Path(dst).parent == tmp_path:
            seen.append(load_latest_checkpoint(tmp_path)[2]["epoch"])

    monkeypatch.setattr(ckpt.os, "replace", replace_and_check)
    _save(tmp_path, *tiny, epoch=3)
    assert len(seen) == 4 and set(seen) <= {2, 3} and seen[-1] == 3  # 2 renames for previous, 2 for last


# ---------------------------------------------------------------------------------------------
# Loading: the fallback

def test_latest_falls_back_to_previous_with_a_notice(tmp_path: Path, tiny, capsys) -> None:
    _save(tmp_path, *tiny, epoch=1)
    _save(tmp_path, *tiny, epoch=2)
    assert load_latest_checkpoint(tmp_path)[2:] == ({"epoch": 2, "step": 0}, "last")
    assert capsys.readouterr().err == ""
    (tmp_path / "last.json").write_text('{"trainer": ')
    model_state, optims, state, name = load_latest_checkpoint(tmp_path)
    assert (name, state["epoch"]) == ("previous", 1) and torch.all(model_state["weight"] == 1)
    assert optims["main"]["param_groups"][0]["momentum"] == 0.9
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"archzoo: note: checkpoint last in {tmp_path} is damaged")
    assert "last.json" in err and "resuming from the previous one, at epoch 2 step 0" in err


def test_neither_loading_names_both_reasons(tmp_path: Path, tiny) -> None:
    _save(tmp_path, *tiny, epoch=1)
    _save(tmp_path, *tiny, epoch=2)
    (tmp_path / "last.safetensors").write_bytes(b"")
    (tmp_path / "previous.json").write_text("[]")
    with pytest.raises(CheckpointError) as info:
        load_latest_checkpoint(tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"no usable checkpoint in {tmp_path}")
    assert "last.safetensors does not match last.json" in message
    assert "previous.json: it holds no trainer state" in message and "archzoo train" in message
    with pytest.raises(CheckpointError, match="no checkpoint 'previous'"):
        load_latest_checkpoint(tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# Resuming a run whose last checkpoint is damaged

@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, runs) -> Path:
    run = tmp_path_factory.mktemp("full") / "run"
    train(runs.digits_cfg(run), progress=False)
    return run


class _Crash(Exception):
    pass


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory, runs) -> Path:
    """The same run killed after its second epoch: last is epoch 2, previous epoch 1."""
    run = tmp_path_factory.mktemp("crashed") / "run"
    trainer = Trainer(runs.digits_cfg(run), run, progress=False)
    end_epoch = trainer._end_epoch

    def crash_after_the_second_epoch() -> None:
        end_epoch()
        if trainer.state["epoch"] == 2:
            raise _Crash

    with pytest.MonkeyPatch.context() as m:
        m.setattr(trainer, "_end_epoch", crash_after_the_second_epoch)
        with pytest.raises(_Crash):
            trainer.fit()
    assert len(runs.metrics(run)) == 2  # epochs 1 and 2 evaluated; previous knows only the first
    return run


def _damage_tensors_truncated(d: Path) -> None:
    path = d / "last.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_tensors_flipped(d: Path) -> None:
    data = bytearray((d / "last.safetensors").read_bytes())
    data[-1] ^= 0xFF  # one bit of a weight: the size and the header are fine, the SHA-256 is not
    (d / "last.safetensors").write_bytes(bytes(data))


def _damage_json_garbage(d: Path) -> None:
    (d / "last.json").write_bytes(b"\x00\xffgarbage")


def _damage_last_lost(d: Path) -> None:
    (d / "last.json").unlink()
    (d / "last.safetensors").unlink()


@pytest.mark.parametrize("damage", [_damage_tensors_truncated, _damage_tensors_flipped, _damage_json_garbage,
                                    _damage_last_lost], ids=lambda f: f.__name__.removeprefix("_damage_"))
def test_damaged_last_resumes_from_previous_and_ends_like_an_uninterrupted_run(
    tmp_path: Path, capsys, uninterrupted: Path, crashed: Path, damage, runs) -> None:
    run = tmp_path / "run"
    shutil.copytree(crashed, run)
    damage(run / "checkpoints")

    summary = resume(run, progress=False)
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "note: checkpoint" in line]
    assert len(notes) == 1 and "resuming from the previous one, at epoch 2 step 0" in notes[0], err
    assert summary["completed"] and summary["epochs_done"] == 3
    full, resumed = runs.weights(uninterrupted), runs.weights(run)
    assert full.keys() == resumed.keys() and all(torch.equal(full[k], resumed[k]) for k in full)
    assert runs.metrics(run) == runs.metrics(uninterrupted)  # the lines after previous were dropped and redone
