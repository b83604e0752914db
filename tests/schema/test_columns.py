from bmts.schema import LABEL_TO_NAME, REQUIRED_TIMESERIES, TIMESERIES, Issue, Monotonic


def test_required_columns_are_time_voltage_current() -> None:
    assert REQUIRED_TIMESERIES == ("test_time_second", "voltage_volt", "current_ampere")
    assert TIMESERIES["test_time_second"].monotonic is Monotonic.NON_DECREASING
    assert "charging" in TIMESERIES["current_ampere"].sign


def test_every_label_carries_its_unit() -> None:
    for column in TIMESERIES.values():
        assert column.label.endswith(f"/ {column.unit}"), column
        assert LABEL_TO_NAME[column.label.lower()] == column.name


def test_issue_names_file_row_and_column() -> None:
    assert (
        str(Issue("a.csv", "not a number", 12, "Voltage / V"))
        == "a.csv, row 12, column 'Voltage / V': not a number"
    )


def test_data_model_doc_lists_every_column() -> None:
    from pathlib import Path

    from bmts.schema import (
        CAPACITY_HISTORY_COLUMNS,
        CYCLE_COLUMNS,
        DISCHARGE_CURVE_COLUMNS,
        TELEMETRY_COLUMNS,
    )

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-model.md").read_text()
    tables = (CYCLE_COLUMNS, DISCHARGE_CURVE_COLUMNS, CAPACITY_HISTORY_COLUMNS, TELEMETRY_COLUMNS)
    for column in (*TIMESERIES.values(), *(c for table in tables for c in table)):
        assert f"| `{column.name}` | {column.label} |" in doc, column.name
