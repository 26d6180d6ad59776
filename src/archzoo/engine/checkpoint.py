"""Checkpoints: tensors in safetensors, everything else in JSON, each written atomically.

``<name>.safetensors`` holds the model's state dict under ``model.`` and every optimizer's tensors
under ``optim.<key>.``; ``<name>.json`` holds the trainer state (epoch, step, RNG states as lists of
bytes, optimizer hyperparameters, best metric). Nothing is ever unpickled.

Atomic: each file goes to a temporary name in the same directory, is flushed to disk, then renamed
over the old one, so a kill at any moment leaves either the old checkpoint or the new one. The JSON
is renamed last and names the tensors file's content hash, so a mixed pair is detected on load.

Two deep: before ``last`` is overwritten, the current ``last`` pair (if it is consistent) becomes
``previous``, by hard links (or atomic copies) renamed into place tensors first, so that at every
instant at least one of ``last`` and ``previous`` is a consistent pair. A damaged ``last`` (a disk
that lost the file, a copy cut short) then costs one epoch, not the run:
:func:`load_latest_checkpoint` falls back to ``previous``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from archzoo.data.files import sha256_file


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not fit the model."""


LAST, PREVIOUS = "last", "previous"
_CHUNK = 1 << 20


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def _flatten_optimizer(key: str, state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (for safetensors) and the rest (for JSON)."""
    tensors: dict[str, torch.Tensor] = {}
    rest: dict[str, dict[str, Any]] = {}
    for idx, per_param in state["state"].items():
        rest[str(idx)] = {}
        for name, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{key}.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                rest[str(idx)][name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": rest}


def _unflatten_optimizer(key: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["scalars"].items()}
    prefix = f"optim.{key}."
    for name, value in tensors.items():
        if name.startswith(prefix):
            idx, _, field = name[len(prefix):].partition(".")
            state.setdefault(int(idx), {})[field] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def _is_consistent(directory: Path, name: str) -> bool:
    """True if ``name``'s JSON reads and names the SHA-256 its tensors file has."""
    try:
        meta = json.loads((directory / f"{name}.json").read_text())
        return isinstance(meta, dict) and meta.get("sha256") == sha256_file(directory / f"{name}.safetensors")
    except (OSError, ValueError):  # missing, unreadable, not JSON, not UTF-8
        return False


def _replace_with_link(source: Path, target: Path) -> None:
    """Make ``target`` a copy of ``source`` atomically: a hard link (or, where links are not possible,
    a copy flushed to disk) at a temporary name, renamed over ``target``."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(source, tmp)
        except OSError:  # a file system without hard links
            with open(source, "rb") as src, open(tmp, "xb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _keep_last_as_previous(directory: Path) -> None:
    """Make the current ``last`` pair ``previous``, unless it is damaged (then the old ``previous``,
    the good one, stays). Tensors first: until the JSON follows, ``previous`` is a mixed pair, but
    ``last`` is still whole; afterwards both are."""
    if not _is_consistent(directory, LAST):
        return
    _replace_with_link(directory / f"{LAST}.safetensors", directory / f"{PREVIOUS}.safetensors")
    _replace_with_link(directory / f"{LAST}.json", directory / f"{PREVIOUS}.json")


def _shared(state: dict[str, torch.Tensor]) -> dict[str, str]:
    """{name: the first name with the same storage} for tensors that share memory (tied weights, such
    as a language model's embedding and output layer): safetensors stores each storage once."""
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    aliases = {}
    for key, value in state.items():
        ident = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        if ident in seen:
            aliases[key] = seen[ident]
        else:
            seen[ident] = key
    return aliases


def save_checkpoint(
    directory: Path, name: str, model_state: dict[str, torch.Tensor],
    optimizers: dict[str, torch.optim.Optimizer], trainer_state: dict[str, Any],
    task_tensors: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write checkpoint ``name`` in ``directory`` atomically; saving ``last`` keeps the current
    ``last`` (when consistent) as ``previous`` first. ``task_tensors`` (a recurrent model's carried
    state, say) come back from :func:`load_checkpoint` in the trainer state's ``task_tensors``."""
    directory.mkdir(parents=True, exist_ok=True)
    if name == LAST:
        _keep_last_as_previous(directory)
    aliases = _shared(model_state)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model_state.items() if k not in aliases}
    tensors.update({f"task.{k}": v.detach().cpu().contiguous() for k, v in (task_tensors or {}).items()})
    optim_meta = {}
    for key, opt in optimizers.items():
        t, meta = _flatten_optimizer(key, opt.state_dict())
        tensors.update(t)
        optim_meta[key] = meta
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp)
        data = Path(tmp).read_bytes()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, directory / f"{name}.safetensors")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    meta = {"trainer": trainer_state, "optimizers": optim_meta, "sha256": hashlib.sha256(data).hexdigest(),
            "shared": aliases}
    atomic_write_json(directory / f"{name}.json", meta)


def load_checkpoint(directory: Path, name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Return (model state dict, {optimizer key: state dict}, trainer state).

    Raises CheckpointError, one line naming the file, when the pair is missing, unreadable, mixed
    (the JSON names another tensors file) or malformed.
    """
    tensor_path, meta_path = directory / f"{name}.safetensors", directory / f"{name}.json"
    if not tensor_path.is_file() or not meta_path.is_file():
        raise CheckpointError(
            f"no checkpoint '{name}' in {directory} (expected {tensor_path.name} and {meta_path.name})"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, OSError) as exc:  # ValueError: not JSON, or not UTF-8 text
        raise CheckpointError(f"cannot read checkpoint {meta_path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("trainer"), dict):
        raise CheckpointError(f"cannot read checkpoint {meta_path}: it holds no trainer state")
    try:
        data = tensor_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise CheckpointError(f"{tensor_path} does not match {meta_path.name} (corrupt or half-written checkpoint)")
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read checkpoint {tensor_path}: {str(exc).splitlines()[0]}") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    for alias, original in (meta.get("shared") or {}).items():
        if original not in model_state:
            raise CheckpointError(f"cannot read checkpoint {meta_path}: {alias} shares {original}, which is missing")
        model_state[alias] = model_state[original]
    task_tensors = {k[len("task."):]: v for k, v in tensors.items() if k.startswith("task.")}
    if task_tensors:
        meta["trainer"]["task_tensors"] = task_tensors
    try:
        optims = {key: _unflatten_optimizer(key, tensors, m) for key, m in meta.get("optimizers", {}).items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {meta_path}: malformed optimizer state ({exc!r})") from None
    return model_state, optims, meta["trainer"]


def load_latest_checkpoint(
    directory: Path,
) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any], str]:
    """Load ``last``, or ``previous`` when ``last`` is damaged or missing, saying so in one line on
    stderr. Returns (model state dict, {optimizer key: state dict}, trainer state, name loaded).

    Raises CheckpointError naming both reasons when neither loads.
    """
    try:
        return (*load_checkpoint(directory, LAST), LAST)
    except CheckpointError as exc:
        last_error = str(exc)
    try:
        model_state, optims, state = load_checkpoint(directory, PREVIOUS)
    except CheckpointError as exc:
        raise CheckpointError(
            f"no usable checkpoint in {directory}: {LAST}: {last_error}; {PREVIOUS}: {exc}; "
            "start a new run with `archzoo train MODEL --data NAME --out NEW_DIR`"
        ) from None
    print(f"archzoo: note: checkpoint {LAST} in {directory} is damaged ({last_error}); resuming from the "
          f"previous one, at epoch {state.get('epoch', 0) + 1} step {state.get('step', 0)}", file=sys.stderr)
    return model_state, optims, state, PREVIOUS


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


__all__ = [
    "CheckpointError",
    "atomic_write_bytes",
    "atomic_write_json",
    "load_checkpoint",
    "load_latest_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]
