"""The access log without query strings: uvicorn logs each request's path *with* its query, and a client may put a
secret there (``?api_key=...``), so ``ragwright serve`` logs the path alone.

Example::

    uvicorn.run(app, log_config=access_log_config())   # '"GET /v1/documents HTTP/1.1" 401', never '?api_key=...'
"""

from __future__ import annotations

import copy
import logging
from typing import Any

_ACCESS_ARGS = 5
"""uvicorn's access record: (client, method, path with query, HTTP version, status)."""


class DropQueryString(logging.Filter):
    """A logging filter that cuts the query string off the path of uvicorn access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == _ACCESS_ARGS and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`DropQueryString` on the access handler (a plain dict,
    so ``serve --workers N`` hands it to every worker process)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query_string"] = {"()": f"{__name__}.DropQueryString"}
    config["handlers"]["access"]["filters"] = ["drop_query_string"]
    return config
