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
    # 255 is the example's WebService hospital (issue 11), as in hisgraph demo.
    soap = registry.hospital("255")
    assert soap is not None
    service = registry.upstream(soap).soap
    assert service is not None
    assert service.wsdl_url == "http://127.0.0.1:9100/soap/methods/his/255?wsdl"
    assert service.style == "per_method"


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


def _hospital(**fields: object) -> dict[str, object]:
    return {"id": "1", "name": "测试医院", "base_url": "http://127.0.0.1:9/his", **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"auth": "api_key"}, "needs api_key"),
        ({"auth": "hmac"}, "needs hmac_secret"),
        ({"auth": "hmac", "api_key": "k" * 16}, "needs hmac_secret"),
        ({"api_key": "k" * 16}, "would ignore it"),
        ({"auth": "api_key", "api_key": "k" * 16, "hmac_secret": "s" * 16}, "would ignore it"),
        ({"auth": "api_key", "api_key": "short"}, "at least 16 characters"),
        ({"auth": "basic"}, "Input should be"),
        ({"allowed_ips": ["10.0.0.1/24"]}, "host bits set"),
        ({"allowed_ips": ["hospital.example"]}, "not an IP address or a CIDR network"),
    ],
)
def test_shim_auth_settings_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Registry.model_validate({"hospitals": [_hospital(**fields)]})


def test_secrets_stay_out_of_reprs() -> None:
    registry = Registry.model_validate({"hospitals": [_hospital(auth="hmac", hmac_secret="s3cret-s3cret-s3cret")]})
    assert "s3cret" not in repr(registry)


@pytest.mark.parametrize(
    ("fields", "address", "allowed"),
    [
        ({"allowed_ips": ["10.1.2.0/24"]}, "10.1.2.77", True),
        ({"allowed_ips": ["10.1.2.0/24"]}, "10.1.3.1", False),
        ({"allowed_ips": ["10.1.2.3"]}, "::ffff:10.1.2.3", True),
        ({"allowed_ips": ["::1"]}, "::1", True),
        ({"allowed_ips": ["10.1.2.3"]}, "not-an-address", False),
        ({"allowed_ips": ["10.1.2.3"]}, None, False),
        ({}, "10.1.2.3", False),  # auth none without an allowlist: nobody
        ({"auth": "api_key", "api_key": "k" * 16}, "10.1.2.3", True),  # the key is the proof
    ],
)
def test_allowed_addresses(fields: dict[str, object], address: str | None, allowed: bool) -> None:
    hospital = Registry.model_validate({"hospitals": [_hospital(**fields)]}).by_id["1"]
    assert hospital.allows_address(address) is allowed


def test_hospitals_by_hos_code() -> None:
    registry = Registry.model_validate(
        {
            "hospitals": [
                _hospital(hos_code="H001"),
                {**_hospital(), "id": "2"},
                {**_hospital(), "id": "3", "hos_code": "H003"},
            ]
        }
    )
    assert registry.by_hos_code["H001"].id == "1"
    assert registry.by_hos_code["H003"].id == "3"
    assert "H002" not in registry.by_hos_code
    with pytest.raises(ValidationError, match="hos_code listed twice"):
        Registry.model_validate({"hospitals": [_hospital(hos_code="H001"), {**_hospital(hos_code="H001"), "id": "2"}]})


def test_the_shipped_example_lets_the_simulated_hospitals_call_from_loopback() -> None:
    registry = Registry.load(EXAMPLE)
    assert all(h.auth == "none" and h.allows_address("127.0.0.1") for h in registry.hospitals)
    assert not any(h.allows_address("10.0.0.1") for h in registry.hospitals)
