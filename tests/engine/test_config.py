"""TrainConfig read back from a run's config.json: every way the file can be wrong is one clear line."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from archzoo.engine.config import _JSON_TYPES, ConfigError, TrainConfig


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        TrainConfig.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "start a new run" in message  # and how to fix it
    return message


def test_a_saved_config_loads_back_and_extra_keys_are_ignored(tmp_path: Path) -> None:
    cfg = TrainConfig(model="mlp", data="digits", epochs=3, lr=0.01, augment=None, model_overrides={"depth": 2})
    record = {**cfg.to_json(), "model_config": {"depth": 2}, "dataset": {"name": "digits"}, "epochs": 3}
    loaded = TrainConfig.load(_write(tmp_path, json.dumps(record)))
    assert loaded == cfg


def test_invalid_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, '{"model": "mlp",\n  "data": }'))
    assert "is not valid JSON" in message and "line 2 column 11" in message
    assert "is not valid JSON" in _error(_write(tmp_path, ""))  # an empty (half-written) file
    path = tmp_path / "config.json"
    path.write_bytes(b'{"model": "\xff"}')
    assert "not UTF-8" in _error(path)


def test_not_an_object_or_missing_model_or_data(tmp_path: Path) -> None:
    assert "holds an array, not a JSON object" in _error(_write(tmp_path, '["mlp", "digits"]'))
    assert "holds null" in _error(_write(tmp_path, "null"))
    assert "has no 'model' setting" in _error(_write(tmp_path, '{"data": "digits"}'))
    assert "has no 'data' setting" in _error(_write(tmp_path, '{"model": "mlp"}'))


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("model", 3, "'model' must be a string, got 3"),
    ("epochs", "ten", "'epochs' must be an integer, got 'ten'"),
    ("epochs", 2.5, "'epochs' must be an integer"),
    ("epochs", True, "'epochs' must be an integer, got True"),
    ("lr", "0.1", "'lr' must be a number, got '0.1'"),
    ("compile", 1, "'compile' must be true or false"),
    ("augment", 7, "'augment' must be a string or null"),
    ("model_overrides", [], "'model_overrides' must be an object"),
])
def test_a_value_of_the_wrong_type_is_named(tmp_path: Path, key: str, value: object, expected: str) -> None:
    record = {"model": "mlp", "data": "digits", key: value}
    assert expected in _error(_write(tmp_path, json.dumps(record)))


def test_an_invalid_value_is_named_with_the_file(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, json.dumps({"model": "mlp", "data": "digits", "lr": 0})))
    assert "lr must be positive, got 0" in message
    lr = TrainConfig.load(_write(tmp_path, json.dumps({"model": "mlp", "data": "digits", "lr": 1})))
    assert lr.lr == 1  # an integer where a float is expected is fine: JSON writes 1.0 as 1 sometimes


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "config.json"
    directory.mkdir()  # a directory where the file should be
    assert "cannot read" in _error(directory)


def test_every_setting_has_its_type_checked() -> None:
    unchecked = [f.name for f in fields(TrainConfig) if str(f.type) not in _JSON_TYPES]
    assert not unchecked, f"add the annotations of {unchecked} to _JSON_TYPES"
