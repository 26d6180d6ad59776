"""Checkpoints: tensors in safetensors, everything else in JSON, each written atomically.

``<name>.safetensors`` holds the model's state dict under ``model.`` and every optimizer's tensors
under ``optim.<key>.``; ``<name>.json`` holds the trainer state (epoch, step, RNG states as lists of
bytes, optimizer hyperparameters, best metric). Nothing is ever unpickled.

Atomic: each file goes to a temporary name in the same directory, is flushed to disk, then renamed
over the old one, so a kill at any moment leaves either the old checkpoint or the new one. The JSON
is renamed last and names the tensors file's content hash, so a mixed pair is detected on load.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not fit the model."""


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


def save_checkpoint(
    directory: Path, name: str, model_state: dict[str, torch.Tensor],
    optimizers: dict[str, torch.optim.Optimizer], trainer_state: dict[str, Any],
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model_state.items()}
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
    meta = {"trainer": trainer_state, "optimizers": optim_meta, "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_json(directory / f"{name}.json", meta)


def load_checkpoint(directory: Path, name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Return (model state dict, {optimizer key: state dict}, trainer state)."""
    tensor_path, meta_path = directory / f"{name}.safetensors", directory / f"{name}.json"
    if not tensor_path.is_file() or not meta_path.is_file():
        raise CheckpointError(
            f"no checkpoint '{name}' in {directory} (expected {tensor_path.name} and {meta_path.name})"
        )
    try:
        meta = json.loads(meta_path.read_text())
        data = tensor_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise CheckpointError(f"{tensor_path} does not match {meta_path.name} (corrupt or half-written checkpoint)")
        tensors = load_file(str(tensor_path))
    except (json.JSONDecodeError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read checkpoint {tensor_path}: {exc}") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    optims = {key: _unflatten_optimizer(key, tensors, m) for key, m in meta.get("optimizers", {}).items()}
    return model_state, optims, meta["trainer"]


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
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]
