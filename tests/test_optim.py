"""archzoo.optim against torch.optim: 100-step trajectories, state dicts both ways, LR schedulers."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from archzoo import optim

CONFIGS = [
    ("sgd", optim.SGD, torch.optim.SGD, dict(lr=0.05)),
    ("sgd_wd", optim.SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.01)),
    ("momentum", optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    ("momentum_dampening", optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-3)),
    ("nesterov", optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("sgd_maximize", optim.SGD, torch.optim.SGD, dict(lr=0.01, momentum=0.5, maximize=True)),
    ("adam", optim.Adam, torch.optim.Adam, dict(lr=1e-2)),
    ("adam_wd", optim.Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1)),
    ("amsgrad", optim.Adam, torch.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    ("adamw", optim.AdamW, torch.optim.AdamW, dict(lr=1e-2)),
    ("adamw_amsgrad", optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("rmsprop", optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    (
        "rmsprop_centered_momentum",
        optim.RMSprop,
        torch.optim.RMSprop,
        dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=0.01),
    ),
]


@pytest.fixture(autouse=True)
def _one_thread():
    # thousands of tiny ops: one intra-op thread is much faster than two on a loaded machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)


def _data(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(32, 4, generator=g).to(dtype), torch.randint(0, 3, (32,), generator=g)


def _train(model: nn.Module, opt: torch.optim.Optimizer, steps: int, data) -> None:
    x, y = data
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _assert_same_params(a: nn.Module, b: nn.Module, atol: float) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=atol, rtol=0, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize(("dtype", "atol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize(("name", "ours", "theirs", "kw"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_trajectory_matches_torch_over_100_steps(name, ours, theirs, kw, dtype, atol) -> None:
    a, b = _model(dtype), _model(dtype)
    data = _data(dtype)
    start = [p.detach().clone() for p in a.parameters()]
    _train(a, ours(a.parameters(), **kw), 100, data)
    _train(b, theirs(b.parameters(), **kw), 100, data)
    _assert_same_params(a, b, atol)
    moved = sum((p.detach() - s).abs().sum().item() for p, s in zip(a.parameters(), start, strict=True))
    assert moved > 1e-2  # the comparison is not between two unmoved models


def _save_and_load(state: dict, tmp_path) -> dict:
    """A state dict through safetensors (the tensors) + JSON (the rest), as the engine stores it."""
    tensors = {f"{pid}.{key}": v.contiguous() for pid, s in state["state"].items() for key, v in s.items()}
    save_file(tensors, tmp_path / "optim.safetensors")
    (tmp_path / "optim.json").write_text(json.dumps({"param_groups": state["param_groups"]}))
    loaded = load_file(tmp_path / "optim.safetensors")
    per_param: dict[int, dict] = {}
    for k, v in loaded.items():
        pid, key = k.split(".", 1)
        per_param.setdefault(int(pid), {})[key] = v
    return {"state": per_param, "param_groups": json.loads((tmp_path / "optim.json").read_text())["param_groups"]}


@pytest.mark.parametrize(("name", "ours", "theirs", "kw"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_state_dicts_load_into_each_other(name, ours, theirs, kw, tmp_path) -> None:
    dtype, data = torch.float64, _data(torch.float64)
    reference = _model(dtype)
    _train(reference, ours(reference.parameters(), **kw), 60, data)  # 60 uninterrupted steps

    a = _model(dtype)
    opt_a = ours(a.parameters(), **kw)
    _train(a, opt_a, 30, data)
    b = _model(dtype)
    b.load_state_dict(a.state_dict())
    opt_b = theirs(b.parameters(), **kw)
    opt_b.load_state_dict(_save_and_load(opt_a.state_dict(), tmp_path))  # ours -> torch's
    assert opt_b.state_dict()["state"].keys() == opt_a.state_dict()["state"].keys()
    _train(b, opt_b, 15, data)
    c = _model(dtype)
    c.load_state_dict(b.state_dict())
    opt_c = ours(c.parameters(), **kw)
    opt_c.load_state_dict(_save_and_load(opt_b.state_dict(), tmp_path))  # torch's -> ours
    _train(c, opt_c, 15, data)
    _assert_same_params(c, reference, 1e-12)


def test_state_dict_layout_is_torchs() -> None:
    for name, ours, theirs, kw in CONFIGS:
        a, b = _model(torch.float64), _model(torch.float64)
        opt_a, opt_b = ours(a.parameters(), **kw), theirs(b.parameters(), **kw)
        _train(a, opt_a, 2, _data(torch.float64))
        _train(b, opt_b, 2, _data(torch.float64))
        sa, sb = opt_a.state_dict(), opt_b.state_dict()
        assert sa["param_groups"] == sb["param_groups"], name
        for pid in sb["state"]:
            assert sa["state"][pid].keys() == sb["state"][pid].keys(), name
            for key, v in sb["state"][pid].items():
                assert sa["state"][pid][key].dtype == v.dtype and sa["state"][pid][key].shape == v.shape, (name, key)


def test_lr_schedulers_drive_the_reference_optimizers() -> None:
    for make in (
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=12),
    ):
        a, b = _model(torch.float64), _model(torch.float64)
        opt_a, opt_b = (
            optim.SGD(a.parameters(), lr=0.1, momentum=0.9),
            torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9),
        )
        sched_a, sched_b = make(opt_a), make(opt_b)
        assert opt_a.param_groups[0]["initial_lr"] == opt_b.param_groups[0]["initial_lr"]
        lrs_a, lrs_b = [], []
        for _ in range(12):
            _train(a, opt_a, 1, _data(torch.float64))
            _train(b, opt_b, 1, _data(torch.float64))
            sched_a.step()
            sched_b.step()
            lrs_a.append(opt_a.param_groups[0]["lr"])
            lrs_b.append(opt_b.param_groups[0]["lr"])
        assert lrs_a == lrs_b and len(set(lrs_a)) > 1
        _assert_same_params(a, b, 1e-12)


def test_param_groups_and_closure() -> None:
    a, b = _model(torch.float64), _model(torch.float64)
    groups = lambda m: [{"params": m[0].parameters(), "lr": 1e-3}, {"params": m[2].parameters()}]  # noqa: E731
    opt_a, opt_b = optim.Adam(groups(a), lr=1e-2), torch.optim.Adam(groups(b), lr=1e-2)
    x, y = _data(torch.float64)
    for model, opt in ((a, opt_a), (b, opt_b)):
        for _ in range(20):

            def closure(model=model, opt=opt):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                return loss

            loss = opt.step(closure)
            assert loss is not None and loss.ndim == 0
    _assert_same_params(a, b, 1e-12)


def test_invalid_arguments_are_refused() -> None:
    p = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid lr"):
        optim.Adam(p, lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta"):
        optim.AdamW(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="unsupported: {'foreach': True}"):
        optim.RMSprop(p, foreach=True)


def test_optimizer_table() -> None:
    p = [nn.Parameter(torch.zeros(2))]
    assert set(optim.OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"}
    nesterov = optim.create_optimizer("nesterov", p, 0.1, weight_decay=5e-4)
    assert isinstance(nesterov, optim.SGD)
    assert nesterov.defaults["momentum"] == 0.9 and nesterov.defaults["nesterov"]
    assert nesterov.defaults["weight_decay"] == 5e-4
    assert optim.create_optimizer("momentum", p, 0.1, momentum=0.5).defaults["momentum"] == 0.5
    assert isinstance(optim.create_optimizer("adamw", p, 1e-3), optim.AdamW)
    with pytest.raises(ValueError, match="choose one of: sgd, momentum"):
        optim.create_optimizer("lion", p, 1e-3)
