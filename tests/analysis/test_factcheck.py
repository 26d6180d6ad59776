from __future__ import annotations

from pathlib import Path

import pytest

from archzoo.analysis.factcheck import CLAIMS, Claim, check, factcheck, markdown


def test_verdicts_follow_the_measurements() -> None:
    verdicts = {(v.claim.model, v.claim.quantity): v for v in factcheck()}
    assert verdicts[("lenet5", "params")].verdict == "holds"
    assert verdicts[("alexnet", "layers")].measured == 8
    assert "5 conv + 3 fully connected" in verdicts[("alexnet", "layers")].explanation
    assert verdicts[("resnet152", "layers")].measured == 152
    assert verdicts[("resnet152", "params")].verdict.startswith("wrong")
    assert "FLOPs" in verdicts[("resnet152", "params")].explanation
    assert verdicts[("vgg19", "params")].verdict.startswith("wrong (off by +4.1%)")
    assert verdicts[("squeezenet1_0", "params")].verdict == "holds"


def test_off_by_is_reported_when_no_explanation_is_known() -> None:
    v = check(Claim("x", "x has 100 parameters", "params", 100.0, 0.05), measure=lambda m, q: 120.0)
    assert v.verdict == "off by +20.0%"
    v = check(Claim("x", "x has 100 parameters", "params", 100.0, 0.05), measure=lambda m, q: 103.0)
    assert v.verdict == "holds"


@pytest.mark.slow
def test_docs_table_is_the_commands_output() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "factcheck.md"
    assert doc.read_text() == markdown(factcheck()), "regenerate: archzoo factcheck --markdown > docs/factcheck.md"
    assert len(CLAIMS) >= 9
