"""JSON responses rendered by orjson.

Starlette's ``JSONResponse`` renders with the standard library's ``json.dumps``: about 5 µs
for a token response against 0.3 µs with orjson, and an instant login renders two of them
(``bench/RESULTS-load.md``, session 19). The bytes are the same compact UTF-8 JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse

__all__ = ["JSONResponse"]


class JSONResponse(_StarletteJSONResponse):
    """Starlette's ``JSONResponse`` with orjson's ``dumps``."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
