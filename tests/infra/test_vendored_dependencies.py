"""Vendored gateway dependencies ship only as pinned, hash-checked and unchanged since install."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from app import GATEWAY_SOURCE
from stacks.components.gateway_bundle import (
    VENDORED_DISTRIBUTIONS,
    VendoredDependencyError,
    read_pins,
    vendor_distributions,
)

PROBE = "vendored-probe"
MODULE = "vendored_probe/module.py"


def record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install_probe(site: Path, version: str) -> None:
    """Lay out a distribution in `site` as pip installs one: its files and a hashed RECORD."""
    info = f"vendored_probe-{version}.dist-info"
    files = {
        "vendored_probe/__init__.py": b"",
        MODULE: b"ANSWER = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {PROBE}\nVersion: {version}\n".encode(),
    }
    for relative, data in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(data)
    rows = [
        f"{relative},sha256={record_hash(data)},{len(data)}" for relative, data in files.items()
    ]
    # Bytecode and a console script outside site-packages, neither of which is vendored.
    rows += [
        "vendored_probe/__pycache__/module.cpython-311.pyc,,",
        f"../../../bin/{PROBE},sha256={record_hash(b'script')},6",
        f"{info}/RECORD,,",
    ]
    (site / info / "RECORD").write_text("\n".join(rows) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def pins(tmp_path: Path, text: str) -> Path:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(text)
    return requirements


def test_an_intact_distribution_at_its_pin_is_copied_without_bytecode_or_scripts(
    site: Path, tmp_path: Path
) -> None:
    install_probe(site, "1.0")
    target = tmp_path / "asset"
    vendor_distributions(pins(tmp_path, f"{PROBE}==1.0\n"), target, [PROBE])
    assert (target / MODULE).read_bytes() == b"ANSWER = 42\n"
    assert (target / "vendored_probe-1.0.dist-info" / "RECORD").is_file()
    assert not list(target.rglob("__pycache__"))


def test_an_installed_version_other_than_the_pin_is_refused_before_copying(
    site: Path, tmp_path: Path
) -> None:
    install_probe(site, "1.0")
    target = tmp_path / "asset"
    with pytest.raises(VendoredDependencyError) as refused:
        vendor_distributions(pins(tmp_path, f"{PROBE}==1.1\n"), target, [PROBE])
    message = str(refused.value)
    assert f"{PROBE} 1.0 is installed" in message
    assert "pins 1.1" in message
    assert "make setup" in message
    assert "--require-hashes" in message
    assert not target.exists()


def test_a_file_edited_after_install_is_refused_naming_it(site: Path, tmp_path: Path) -> None:
    install_probe(site, "1.0")
    (site / MODULE).write_bytes(b"ANSWER = 43\n")
    with pytest.raises(VendoredDependencyError, match="does not match the sha256") as refused:
        vendor_distributions(pins(tmp_path, f"{PROBE}==1.0\n"), tmp_path / "asset", [PROBE])
    assert str(site / MODULE) in str(refused.value)
    assert "--force-reinstall" in str(refused.value)


def test_a_file_deleted_after_install_is_refused_naming_it(site: Path, tmp_path: Path) -> None:
    install_probe(site, "1.0")
    (site / MODULE).unlink()
    with pytest.raises(VendoredDependencyError, match="is missing") as refused:
        vendor_distributions(pins(tmp_path, f"{PROBE}==1.0\n"), tmp_path / "asset", [PROBE])
    assert str(site / MODULE) in str(refused.value)


def test_a_vendored_distribution_the_requirements_do_not_pin_is_refused(
    site: Path, tmp_path: Path
) -> None:
    install_probe(site, "1.0")
    with pytest.raises(VendoredDependencyError, match=f"{PROBE} is vendored .* does not pin it"):
        vendor_distributions(pins(tmp_path, f"{PROBE}>=1.0\n"), tmp_path / "asset", [PROBE])


def test_a_pinned_distribution_that_is_not_installed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VendoredDependencyError, match=f"{PROBE} is vendored .* not installed"):
        vendor_distributions(pins(tmp_path, f"{PROBE}==1.0\n"), tmp_path / "asset", [PROBE])


def test_pins_are_read_across_continuation_lines_extras_and_comments(tmp_path: Path) -> None:
    requirements = pins(
        tmp_path,
        "# a comment naming fake==0.1\n"
        "Some_Name[extra]==2.0 \\\n    --hash=sha256:" + "0" * 64 + "  # trailing\n"
        "other>=1\n"
        "last==3.1.4 ; python_version >= '3.11'\n",
    )
    assert read_pins(requirements) == {"some-name": "2.0", "last": "3.1.4"}


def logical_requirement_lines(requirements: Path) -> list[str]:
    """The file's requirements as pip reads them: continuations joined, comments and blanks gone."""
    text = requirements.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_every_pinned_gateway_requirement_carries_a_sha256_hash() -> None:
    lines = logical_requirement_lines(GATEWAY_SOURCE / "requirements.txt")
    assert lines
    for line in lines:
        assert "==" in line, f"not pinned: {line}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}\b", line), f"pinned without a hash: {line}"


def test_the_gateway_requirements_pin_exactly_the_vendored_distributions() -> None:
    # --require-hashes --no-deps installs nothing else, so the pins must be uvicorn's closure.
    assert set(read_pins(GATEWAY_SOURCE / "requirements.txt")) == set(VENDORED_DISTRIBUTIONS)
