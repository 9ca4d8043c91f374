"""The JSON schema of the run configuration, generated from the models (published as docs/config.schema.json;
a test checks that the committed file equals the generated one)."""

from __future__ import annotations

import json
from typing import Any

from .run import RunConfig

__all__ = ["config_schema", "config_schema_text"]


def config_schema() -> dict[str, Any]:
    """JSON schema (draft 2020-12) of a run config; the ``panel`` and ``stratify`` sections are also the schema
    of a ``--config PANEL.yaml`` / ``STRATIFY.yaml``."""
    schema = RunConfig.model_json_schema(mode="validation")
    schema["properties"].pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "proteomics.config"
    return schema


def config_schema_text() -> str:
    """The schema as the committed file holds it (sorted keys, two-space indent, final newline)."""
    return json.dumps(config_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
