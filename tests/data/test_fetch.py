"""``python -m archzoo.data.fetch``: found files, the Debian package, the download, and failures."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from archzoo.data import fetch as fetch_module
from archzoo.data import files


@pytest.fixture
def no_apt(monkeypatch):
    monkeypatch.setattr(fetch_module, "apt_usable", lambda: False)


def test_found_files_are_reported(real_data_root, real_fashion_dir, capsys, no_apt):
    assert fetch_module.main(["fashion-mnist", "--data-root", str(real_data_root)]) == 0
    out = capsys.readouterr().out
    assert out == f"fashion-mnist: {real_fashion_dir} (4 files, checksums verified)\n"


@pytest.mark.slow  # a fresh interpreter imports torch
def test_module_runs_as_a_script(real_data_root, real_fashion_dir, tmp_path):
    env = {**os.environ, "ARCHZOO_DATA": str(real_data_root), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "archzoo.data.fetch", "fashion-mnist"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert str(real_fashion_dir) in done.stdout


def test_debian_package_is_installed_when_apt_can_be_used(tmp_path, fake_fashion, monkeypatch, capsys):
    system = tmp_path / "system"
    commands: list[list[str]] = []

    def fake_run(command: list[str]) -> bool:
        commands.append(command)
        if command[:2] == ["apt-get", "install"]:
            fake_fashion.write(system)  # what the package does: files into the system location
        return True

    monkeypatch.setattr(fetch_module, "apt_usable", lambda: True)
    monkeypatch.setattr(fetch_module, "_run", fake_run)
    assert fetch_module.main(["fashion-mnist", "--data-root", str(tmp_path / "root")]) == 0
    assert commands == [["apt-get", "install", "-y", "--no-install-recommends", "dataset-fashion-mnist"]]
    assert capsys.readouterr().out.startswith(f"fashion-mnist: {system} (4 files")


def test_apt_failure_falls_back_to_the_publisher(tmp_path, fake_fashion, monkeypatch, http_server, capsys):
    base = http_server.serve("fm", fake_fashion.published)
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(base,)))
    commands: list[list[str]] = []
    monkeypatch.setattr(fetch_module, "apt_usable", lambda: True)
    monkeypatch.setattr(fetch_module, "_run", lambda command: commands.append(command) or False)
    assert fetch_module.main(["fashion-mnist", "--data-root", str(tmp_path / "root")]) == 0
    assert [c[:2] for c in commands] == [["apt-get", "install"], ["apt-get", "update"]]
    assert str(tmp_path / "root" / "fashion-mnist") in capsys.readouterr().out


def test_download_without_apt(tmp_path, fake_fashion, monkeypatch, http_server, capsys, no_apt):
    base = http_server.serve("fm", fake_fashion.published)
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(base,)))
    monkeypatch.setenv("ARCHZOO_DATA", str(tmp_path / "env-root"))
    assert fetch_module.main(["fashion-mnist"]) == 0
    assert sorted(os.listdir(tmp_path / "env-root" / "fashion-mnist")) == sorted(fake_fashion.published)
    assert "env-root" in capsys.readouterr().out


def test_failure_exits_2_with_one_line(tmp_path, fake_fashion, monkeypatch, capsys, no_apt, unreachable_url):
    source = replace(files.SOURCES["fashion-mnist"], urls=(unreachable_url,))
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", source)
    assert fetch_module.main(["fashion-mnist", "--data-root", str(tmp_path / "root")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.rstrip("\n")
    assert "\n" not in err and err.startswith("error: fashion-mnist not found")
    assert "download failed" in err and "ARCHZOO_DATA" in err


def test_unknown_dataset_exits_2(capsys):
    assert fetch_module.main(["fashion-mnst"]) == 2
    assert "did you mean fashion-mnist" in capsys.readouterr().err


def test_datasets_without_files(capsys):
    assert fetch_module.main(["xor", "sine"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("xor: needs no files") and "train 400, test 200" in out[0]
    assert out[1].startswith("sine: needs no files")
