"""The kit's model catalog: facts about Bedrock models, with their AWS sources, as TOML data.

`data/*.toml` holds one file per provider family; `all_models()` validates every record once
per process. Synthesis, the emulator, the docs and the tests read it; the gateway Lambda never
does (it receives the entries it serves as JSON).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from lambdas.gateway.catalog import ModelSpec, UnknownModelError, build_catalog

from .schema import CatalogRecord, first_error

DATA_DIR = Path(__file__).resolve().parent / "data"


class CatalogError(Exception):
    """A catalog file breaks the schema: one line naming the file, the model and the field."""


def load_file(path: Path) -> tuple[ModelSpec, ...]:
    """Validate one catalog file into specs."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path.name}: not valid TOML: {error}") from None
    unknown = set(data) - {"models"}
    if unknown:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}")
    specs: list[ModelSpec] = []
    for index, entry in enumerate(data.get("models", [])):
        label = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
        try:
            record = CatalogRecord.model_validate(entry)
        except ValidationError as error:
            raise CatalogError(f"{path.name}: {label}: {first_error(error)}") from None
        specs.append(record.to_spec(record.id, declared=False))
    return tuple(specs)


def load_catalog(data_dir: Path = DATA_DIR) -> Mapping[str, ModelSpec]:
    """Validate every catalog file under `data_dir` into one index by model id."""
    specs: list[ModelSpec] = []
    for path in sorted(data_dir.glob("*.toml")):
        specs.extend(load_file(path))
    try:
        catalog = build_catalog(tuple(specs))
    except ValueError as error:
        raise CatalogError(str(error)) from None
    _check_successors(catalog)
    return catalog


def _check_successors(catalog: Mapping[str, ModelSpec]) -> None:
    for spec in catalog.values():
        successor = spec.lifecycle.successor
        if successor is not None and successor not in catalog:
            raise CatalogError(f"{spec.model_id}: successor {successor!r} is not in the catalog")
        if successor is not None and catalog[successor].modality is not spec.modality:
            raise CatalogError(f"{spec.model_id}: successor {successor!r} has another modality")


@functools.cache
def all_models() -> Mapping[str, ModelSpec]:
    """Return the whole catalog, keyed by model id (validated once per process)."""
    return load_catalog()


def get_model(model_id: str) -> ModelSpec:
    """Return the catalog entry for `model_id` or raise UnknownModelError."""
    try:
        return all_models()[model_id]
    except KeyError:
        raise UnknownModelError(model_id) from None
