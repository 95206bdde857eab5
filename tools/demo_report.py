"""What `make demo` tells a person about a run: pure functions over `airflow dags test`'s output.

Airflow keeps no exception text in its metadata DB; `dags test` prints each task's log between
"[DAG TEST] starting task_id=<id>" and "[DAG TEST] end task task_id=<id>", with the task's
traceback after "Task failed with exception". These functions pick out what a person needs
first: which task failed and why, or why the run never started.
"""

from __future__ import annotations

import re

# A structlog line as `dags test` prints it: "2026-12-01T10:42:49.370935Z [error    ] ..."
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z? \[\s*(\w+)\s*\] ")
CHAIN = re.compile(
    r"\n\s*\n(?:The above exception was the direct cause of the following exception|"
    r"During handling of the above exception, another exception occurred):\s*\n"
)
PARAM_ERROR = re.compile(r"ParamValidationError: (?P<message>.*)$", re.MULTILINE)
STATE_WORDS = {"upstream_failed": "upstream failed", "skipped": "skipped", "removed": "removed", None: "did not run"}
MAX_MESSAGE = 2000


def task_log(output: str, task_id: str) -> str:
    """What one task logged, all its tries: the lines between its start and end markers."""
    lines, inside = [], False
    for line in output.splitlines():
        if "[DAG TEST] starting task_id=" in line:
            inside = f"task_id={task_id} " in line
        elif f"[DAG TEST] end task task_id={task_id} " in line:
            inside = False
        if inside:
            lines.append(line)
    return "\n".join(lines)


def exception_message(section: str) -> str | None:
    """The exception the task raised (its last try), from the traceback after "Task failed with exception":
    its type and whole message (a FailureReason often spans lines, even a traceback of its own).
    Of a chain ("The above exception was the direct cause ...") the last one is the task's."""
    marker = section.rfind("Task failed with exception")
    if marker < 0:
        return None
    traceback: list[str] = []
    for line in section[marker:].splitlines()[1:]:
        if LOG_LINE.match(line):
            break
        traceback.append(line)
    block = CHAIN.split("\n".join(traceback))[-1].splitlines()
    body = [line for line in block if line.strip()]
    if not body or not body[0].startswith("Traceback"):
        return "\n".join(body).strip() or None
    # Skip "Traceback (most recent call last):" and the indented frames; the rest is the message.
    first = next((i for i, line in enumerate(body) if i > 0 and not line.startswith(" ")), None)
    if first is None:
        return "\n".join(body).strip() or None
    message = "\n".join(block[block.index(body[first]) :]).strip()
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " [...]"


def first_failed_task(task_states: dict[str, str | None], order: list[str]) -> str | None:
    """The failed task that ran first (by the order the tasks ran in); a failed teardown comes last."""
    failed = [task for task in order if task_states.get(task) == "failed"]
    return failed[0] if failed else None


def param_error(output: str) -> str | None:
    """Airflow's own message when a Param refused the run's conf, verbatim."""
    found = PARAM_ERROR.search(output)
    return found.group("message").strip() if found else None


def warnings_of(output: str, logger_prefix: str = "bankml.") -> list[str]:
    """The pipeline's own WARNING lines (e.g. the shipped-copy fallback), message only, once each."""
    seen: list[str] = []
    for line in output.splitlines():
        found = LOG_LINE.match(line)
        if found and found.group(2) == "warning" and f"[{logger_prefix}" in line:
            message = line[found.end() :].rsplit(f" [{logger_prefix}", 1)[0].strip()
            if message not in seen:
                seen.append(message)
    return seen


def task_table(task_states: dict[str, str | None], durations: dict[str, float], order: list[str]) -> str:
    """One line: each task's seconds, or what happened instead of running it."""
    cells = []
    for task in order:
        state = task_states.get(task)
        if state in ("success", "failed") and task in durations:
            cells.append(f"{task} {durations[task]:.1f}" + (" (failed)" if state == "failed" else ""))
        else:
            cells.append(f"{task} {STATE_WORDS.get(state, state)}")
    return ", ".join(cells)
