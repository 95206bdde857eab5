"""CloudWatch Logs behaviour moto 5.2.5 lacks, added in front of it rather than by editing moto.

FilterLogEvents with `logStreamNamePrefix` (the AWS CLI's `logs tail`/`filter-log-events
--log-stream-name-prefix` and the SDKs use it): moto ignores the prefix and searches every
stream. Here the prefix is resolved to the matching stream names and the request goes on to
moto with `logStreamNames`, which moto honours.
"""

from __future__ import annotations

import json
from typing import Any

from moto.logs.models import logs_backends

FILTER_LOG_EVENTS = b"Logs_20140328.FilterLogEvents"


def is_filter_log_events(scope: dict[str, Any]) -> bool:
    return any(key == b"x-amz-target" and value == FILTER_LOG_EVENTS for key, value in scope["headers"])


def rewrite_filter_log_events(body: bytes, account_id: str, region: str) -> tuple[bytes | None, dict[str, Any] | None]:
    """(new request body, None) to pass on, or (None, error or empty answer) to answer directly."""
    try:
        params = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return body, None  # moto answers malformed JSON itself
    if not isinstance(params, dict) or "logStreamNamePrefix" not in params:
        return body, None
    prefix = params.pop("logStreamNamePrefix")
    if "logStreamNames" in params:
        return None, {
            "__type": "InvalidParameterException",
            "message": "Cannot specify both logStreamNames and logStreamNamePrefix.",
        }
    group = logs_backends[account_id][region].groups.get(params.get("logGroupName", ""))
    if group is None or not isinstance(prefix, str):
        return json.dumps(params).encode(), None  # moto's own ResourceNotFound / validation answer
    names = sorted(name for name in group.streams if name.startswith(prefix))
    if not names:
        return None, {"events": [], "searchedLogStreams": []}
    params["logStreamNames"] = names
    return json.dumps(params).encode(), None
