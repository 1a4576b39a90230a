"""tus 1.0 wire details that tests and benchmarks both write by hand."""

from __future__ import annotations

import base64


def metadata_header(**values: str) -> str:
    """An Upload-Metadata value: `key base64(value)` pairs, comma-separated, as tus 1.0 asks."""
    return ",".join(f"{key} {base64.b64encode(v.encode()).decode()}" for key, v in values.items())
