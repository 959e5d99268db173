"""The registry file: validated, and mapping methods to URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from his_clients.registry import Registry

EXAMPLE = Path(__file__).resolve().parents[2] / "hospitals.example.toml"


def test_the_shipped_example_loads() -> None:
    registry = Registry.load(EXAMPLE)
    standalone = registry.hospital("253")
    regional = registry.hospital("256")
    assert standalone is not None
    assert regional is not None
    assert (
        registry.upstream(standalone)
        .url_for("hospital.interface.queryWaitPay")
        .endswith("/his/253/hospital.interface.queryWaitPay")
    )
    assert registry.upstream(regional).regional
    assert registry.upstream(regional).url_for("x").endswith("/regional/x")


def test_method_paths_and_opened(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.toml"
    path.write_text(
        """
[[hospitals]]
id = "1"
name = "测试医院"
base_url = "http://127.0.0.1:9/his"
opened = ["hospital.interface.queryWaitPay"]
method_paths = { "hospital.interface.queryWaitPay" = "/api/waitPay" }
""",
        encoding="utf-8",
    )
    registry = Registry.load(path)
    hospital = registry.hospital("1")
    assert hospital is not None
    assert hospital.has_opened("hospital.interface.queryWaitPay")
    assert not hospital.has_opened("hospital.interface.queryBalance")
    assert (
        registry.upstream(hospital).url_for("hospital.interface.queryWaitPay") == "http://127.0.0.1:9/his/api/waitPay"
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[hospitals]]\nid = "1"\nname = "a"\n', "exactly one of base_url or endpoint"),
        ('[[hospitals]]\nid = "1"\nname = "a"\nendpoint = "nowhere"\n', "unknown endpoint"),
        ('[[hospitals]]\nid = "1"\nname = "a"\nbase_url = "http://h"\ntimeout = 3\n', "Extra inputs"),
        (
            '[[hospitals]]\nid = "1"\nname = "a"\nbase_url = "http://h"\n'
            '[[hospitals]]\nid = "1"\nname = "b"\nbase_url = "http://h"\n',
            "listed twice",
        ),
    ],
)
def test_mistakes_in_the_file_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "hospitals.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValidationError, match=message):
        Registry.load(path)
