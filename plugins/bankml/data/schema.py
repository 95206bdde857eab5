"""The UCI bank-additional schema, checked before any feature is built.

One-hot encoding turns an unknown category into an all-zero row and pandas turns a stray
string into an object column; both would train a model on garbage without an error. So the raw
frame is checked against the known columns and category sets first, and every problem is
reported at once, with counts and examples, so a bad file can be fixed in one pass.

The category sets are those that occur in bank-additional-full.csv (they define the tutorial's
59 features). The UCI description also lists "jan" and "feb" for ``month``, but no row has them
and the tutorial's columns do not include them, so they count as unexpected here.
"""

from __future__ import annotations

from os import PathLike

import pandas as pd

LABEL_COLUMN = "y"
LABEL_VALUES = ("no", "yes")
INTEGER_COLUMNS = ("age", "duration", "campaign", "pdays", "previous")
ECONOMIC_COLUMNS = ("emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "job": (
        "admin.",
        "blue-collar",
        "entrepreneur",
        "housemaid",
        "management",
        "retired",
        "self-employed",
        "services",
        "student",
        "technician",
        "unemployed",
        "unknown",
    ),
    "marital": ("divorced", "married", "single", "unknown"),
    "education": (
        "basic.4y",
        "basic.6y",
        "basic.9y",
        "high.school",
        "illiterate",
        "professional.course",
        "university.degree",
        "unknown",
    ),
    "default": ("no", "unknown", "yes"),
    "housing": ("no", "unknown", "yes"),
    "loan": ("no", "unknown", "yes"),
    "contact": ("cellular", "telephone"),
    "month": ("apr", "aug", "dec", "jul", "jun", "mar", "may", "nov", "oct", "sep"),
    "day_of_week": ("fri", "mon", "thu", "tue", "wed"),
    "poutcome": ("failure", "nonexistent", "success"),
}
# The order of the columns in the UCI file.
RAW_COLUMNS = (
    "age",
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "duration",
    "campaign",
    "pdays",
    "previous",
    "poutcome",
    *ECONOMIC_COLUMNS,
    LABEL_COLUMN,
)
_EXAMPLES = 3


class SchemaError(ValueError):
    """The raw frame does not match the UCI schema; the message lists every problem found."""


def read_raw(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a UCI bank-additional CSV (``;``-separated; a ``.gz`` suffix is decompressed)."""
    return pd.read_csv(path, sep=";")


def validate_raw(df: pd.DataFrame) -> None:
    """Raise SchemaError listing every missing/unexpected column and bad value in ``df``."""
    problems: list[str] = []
    missing = [column for column in RAW_COLUMNS if column not in df.columns]
    unexpected = [str(column) for column in df.columns if column not in RAW_COLUMNS]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected columns: {', '.join(unexpected)}")
    if df.columns.duplicated().any():
        duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        problems.append(f"duplicated columns: {', '.join(duplicated)}")
    elif len(df) == 0:
        problems.append("no rows")
    else:
        for column in RAW_COLUMNS:
            if column in df.columns:
                problems.extend(_column_problems(column, df[column]))
    if problems:
        raise SchemaError(
            f"the raw bank-marketing data ({len(df)} rows) does not match the UCI schema:\n- " + "\n- ".join(problems)
        )


def _column_problems(column: str, values: pd.Series) -> list[str]:
    problems: list[str] = []
    missing = values.isna()
    if missing.any():
        problems.append(
            f"{column}: {int(missing.sum())} missing values (NaN), "
            f"e.g. rows {', '.join(str(i) for i in values.index[missing][:_EXAMPLES])}"
        )
    present = values[~missing]
    if column in CATEGORIES or column == LABEL_COLUMN:
        allowed = LABEL_VALUES if column == LABEL_COLUMN else CATEGORIES[column]
        bad = present[~present.isin(allowed)]
        what = "label values" if column == LABEL_COLUMN else "values outside the known categories"
        if len(bad):
            problems.append(f"{column}: {len(bad)} {what} {_examples(bad)}; allowed: {', '.join(allowed)}")
        return problems
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if len(bad):
        problems.append(f"{column}: {len(bad)} non-numeric values {_examples(bad)}")
    if column in INTEGER_COLUMNS:
        numbers = numbers.dropna()
        fractional = present[numbers.index[numbers != numbers.round()]]
        if len(fractional):
            problems.append(f"{column}: {len(fractional)} non-integer values {_examples(fractional)}")
    return problems


def _examples(bad: pd.Series) -> str:
    shown = ", ".join(f"row {index}: {value!r}" for index, value in bad.head(_EXAMPLES).items())
    return f"(e.g. {shown})"
