"""State-estimation use cases over files: fit a cell model, SOC traces (SOH tables: `soh_state`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from bmts.analytics.ecm import CellModel, fit_activation, fit_bv_activation, fit_ecm_table
from bmts.analytics.long_load import (
    MIN_REST_S,
    LongLoads,
    correct_slow_branch,
    fit_warm_activation,
    long_loads,
    min_load_s,
    relative_mismatch,
)
from bmts.analytics.ocv import fit_ocv, integrate_ah
from bmts.analytics.soc import SocConfig, SocFilter, update_together
from bmts.ingest import read_timeseries
from bmts.ingest.bdf_writer import atomic_path
from bmts.schema import DataError, Issue, Repair

TEMPERATURES = ("temperature_t1_celsius", "ambient_temperature_celsius")


def signals(frame: pl.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name in ("test_time_second", "voltage_volt", "current_ampere"):
        if name not in frame.columns:
            raise DataError(Issue(where, f"no {name} column", column=name))
    t = _time(frame, where)
    return t, frame["voltage_volt"].to_numpy().astype(np.float64), frame["current_ampere"].to_numpy()


def _time(frame: pl.DataFrame, where: str, name: str = "test_time_second") -> np.ndarray:
    """A time column that increases, as seconds."""
    t = frame[name].to_numpy().astype(np.float64)
    if t.size < 2:
        raise DataError(Issue(where, "fewer than two samples"))
    if np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
        raise DataError(Issue(where, "broken time base (time not increasing)", column=name))
    return t


def _temperature(frame: pl.DataFrame) -> np.ndarray | None:
    for name in TEMPERATURES:
        if name in frame.columns:
            values = frame[name].cast(pl.Float64).to_numpy()
            if np.isfinite(values).any():
                return values
    return None


def _median(frame: pl.DataFrame, name: str) -> float:
    if name not in frame.columns:
        return float("nan")
    values = frame[name].cast(pl.Float64).to_numpy()
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _counter(frame: pl.DataFrame) -> np.ndarray | None:
    if "net_capacity_ah" in frame.columns and frame["net_capacity_ah"].null_count() == 0:
        return frame["net_capacity_ah"].to_numpy().astype(np.float64)
    return None


#: a pulse test with fewer sets, or sets spanning less SOC, is reported: the model holds the end sets' values
#: beyond them and interpolates between them (an HPPC test has a set every 5-10 % SOC)
MIN_PULSE_SETS, MIN_PULSE_SOC_SPAN = 4, 0.5


def fit_cell_model(ocv_path: str | Path, pulse_paths: Sequence[str | Path]) -> CellModel:
    """OCV from a low-rate test (SOC = 1 at its start, or at the zero of the cycler's Ah counter) and one
    ECM table per pulse test (pulse tests start full). Files without pulses whose long discharges end in
    rests correct the slow RC branch of the table nearest in temperature (a table without such a file: its
    own pulse test's long discharges between pulse sets, if any); others are noted and skipped.
    The long loads that heated the cell above the warmest table (the pulse test's own discharges between
    pulse sets, and such files) fit the warm-side activation."""
    frame = read_timeseries(ocv_path)
    t, v, i = signals(frame, str(ocv_path))
    ocv = fit_ocv(t, v, i, where=str(ocv_path), counter_ah=_counter(frame))
    tables, skipped = [], []
    own: list[LongLoads] = []  # per table: the pulse test's own long loads
    loads: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []
    for path in pulse_paths:
        pf = read_timeseries(path)
        pt, pv, pi = signals(pf, str(path))
        counter = _counter(pf)
        soc = 1.0 + (counter if counter is not None else integrate_ah(pt, pi)) / ocv.capacity_ah
        ambient, cell = _median(pf, "ambient_temperature_celsius"), _median(pf, "temperature_t1_celsius")
        if not np.isfinite(cell):
            cell = ambient
        if not np.isfinite(cell):
            raise DataError(Issue(str(path), "a pulse test needs a temperature column (ambient or T1)"))
        try:
            table = fit_ecm_table(
                pt, pv, pi, soc, ocv, ambient if np.isfinite(ambient) else cell, cell, Path(path).name
            )
        except DataError:
            if len(pulse_paths) == 1:
                raise
            loads.append((Path(path).name, cell, pt, pv, pi, soc, _temperature(pf)))
            continue
        tables.append(table)
        own.append(long_loads(pt, pv, pi, soc, ocv.capacity_ah, min_load_s(table), _temperature(pf)))
    if pulse_paths and not tables:
        raise DataError(Issue(str(pulse_paths[0]), "no pulses found in any --pulse file"))
    matched: list[tuple[str, int, LongLoads]] = []  # long discharges: each corrects the nearest table
    for name, cell, pt, pv, pi, soc, temp in loads:
        k = int(np.argmin([abs(tab.cell_temperature_celsius - cell) for tab in tables]))
        if abs(tables[k].cell_temperature_celsius - cell) > 5.0:
            skipped.append(name)
            continue
        matched.append((name, k, long_loads(pt, pv, pi, soc, ocv.capacity_ah, min_load_s(tables[k]), temp)))
    warmest = int(np.argmax([tab.cell_temperature_celsius for tab in tables]))
    candidates = [own[warmest]] + [f for _, k, f in matched if k == warmest]
    with_file = {k for _, k, _ in matched}
    for k, found in enumerate(own):  # no such file for a table: the pulse test's own discharges between sets
        if found.soc.size and k not in with_file:
            matched.append((tables[k].source, k, found))
    corrected = []
    for name, k, found in matched:
        tables[k], n = correct_slow_branch(tables[k], found, ocv.capacity_ah)
        corrected.append((name, k, n, found))
    model = CellModel(ocv, ocv.capacity_ah, tables, fit_activation(tables), fit_bv_activation(tables))
    model.warm_activation_k, n_warm = fit_warm_activation(model, candidates)
    used: list[dict[str, object]] = []
    for name, k, n, found in corrected:  # the model error with the loads at their own temperatures
        error = relative_mismatch(model, found, tables[k].cell_temperature_celsius)
        tables[k] = replace(tables[k], model_error_rel=error)
        if n or np.isfinite(error):  # loads: the R2 correction's count (0: not corrected, b below 1C)
            note = {
                "source": name,
                "table": tables[k].source,
                "loads": n,
                "model_error_rel": round(error, 4) if np.isfinite(error) else None,
            }
            used.append(note)
        else:
            skipped.append(name)
    checked = {k for _, k, _, found in corrected if found.soc.size}
    model.notes = {
        "ocv_source": Path(ocv_path).name,
        "skipped": skipped,
        "long_loads": used,
        "warm_activation_loads": n_warm,
        # tables whose slow pair no long load corrected or checked: its error at long loads is unknown
        "unchecked_slow_branch": [
            {"source": t.source, "min_load_s": round(min_load_s(t)), "min_rest_s": MIN_REST_S}
            for k, t in enumerate(tables)
            if k not in checked
        ],
        "sparse_pulse_tests": [
            {"source": t.source, "soc": [round(float(x), 3) for x in t.soc]}
            for t in tables
            if t.soc.size < MIN_PULSE_SETS or float(np.ptp(t.soc)) < MIN_PULSE_SOC_SPAN
        ],
    }
    return model


def save_model(model: CellModel, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in model.to_dict().items())
        tmp.write_text("{\n" + body + "\n}\n")
    return Path(path)


def read_json(path: str | Path) -> object:
    """A JSON file's content, or a one-line DataError naming the file."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(Issue(str(path), "no such file")) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(Issue(str(path), f"not JSON: {e}")) from None


def load_model(path: str | Path) -> CellModel:
    return CellModel.from_dict(read_json(path), str(path))  # type: ignore[arg-type]


def soc_trace(
    path: str | Path,
    model: CellModel,
    initial_soc: float | None = None,
    config: SocConfig | None = None,
    initial_soc_std: float | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """`test_time_second, soc, soc_std` for every sample of a file, and warnings. `initial_soc_std`: how
    well `initial_soc` is known (default: a guess, `SocConfig.initial_soc_std`)."""
    config = soc_config(model, initial_soc, initial_soc_std, config)
    repairs: list[Repair] = []
    frame = read_timeseries(path, repairs)
    trace, warnings = soc_of_frame(frame, model, initial_soc, config, str(path))
    return trace, [f"{r.detail} ({r.rows} times)" for r in repairs] + warnings


def soc_trace_resumed(
    path: str | Path,
    model: CellModel,
    state_path: str | Path,
    initial_soc: float | None = None,
    initial_soc_std: float | None = None,
) -> tuple[pl.DataFrame, list[str], dict[str, object]]:
    """`soc_trace` continuing the filter saved at `state_path` by the previous file's call, if any, and
    the filter's new state, for `save_soc_state` once the trace is safely written (a trace lost after its
    state was saved could not be made again: the next call refuses a file the state has passed)."""
    config = soc_config(model, initial_soc, initial_soc_std, None)
    repairs: list[Repair] = []
    frame = read_timeseries(path, repairs)
    notes = [f"{r.detail} ({r.rows} times)" for r in repairs]
    soc_filter, base, resumed = _resumed_filter(
        Path(state_path), model, initial_soc, config, frame, str(path)
    )
    if resumed and initial_soc is not None:
        given = "--initial-soc" + (" and --initial-soc-std" if initial_soc_std is not None else "")
        notes.append(f"{given} ignored: the filter resumes from {state_path}")
    trace, warnings = soc_of_frame(frame, model, initial_soc, None, str(path), soc_filter, base)
    return trace, notes + warnings, {**soc_filter.state(), "time_base": base}


def save_soc_state(state_path: str | Path, soc_state: dict[str, object]) -> Path:
    """Write a `soc_trace_resumed` state, atomically."""
    with atomic_path(state_path) as tmp:
        tmp.write_text(json.dumps(soc_state) + "\n")
    return Path(state_path)


def _resumed_filter(
    path: Path,
    model: CellModel,
    initial_soc: float | None,
    config: SocConfig | None,
    frame: pl.DataFrame,
    where: str,
) -> tuple[SocFilter, str, bool]:
    """The filter saved at `path` (or a new one), the time base it runs on (Unix time when the files have
    it, as consecutive telemetry files each restart their test time) and whether it was resumed."""
    unix = "unix_time_second" in frame.columns and bool(frame["unix_time_second"].is_not_null().all())
    base = "unix_time_second" if unix else "test_time_second"
    if not path.exists():
        return SocFilter(model, initial_soc, config), base, False
    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("time_base") != base:
        raise DataError(Issue(f"--state {path}", f"not a SOC filter state on this file's time base ({base})"))
    return resume_filter(model, saved, float(frame[base][0]), base, where, f"--state {path}"), base, True


def resume_filter(
    model: CellModel,
    saved: dict[str, object],
    first: float,
    base: str,
    where: str,
    state_where: str,
    subject: str = "",
    of: str = "this cell",
) -> SocFilter:
    """The filter a saved state continues, for data whose first sample is at `first` (on `base`): refused
    with a one-line error when the state cannot be resumed (`state_where` names it) or the data does not
    start after it (`where`). `subject` prefixes the messages (a pack's cell), `of` names whose file it is."""
    try:
        soc_filter = SocFilter.resume(model, saved)
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(Issue(state_where, f"{subject}cannot resume: {e}")) from None
    if soc_filter.t_last is not None and first <= soc_filter.t_last:
        raise DataError(
            Issue(
                where,
                f"{subject}starts at {base} {first:.3f}, not after the state's last sample "
                f"({soc_filter.t_last:.3f}): not the next file of {of}",
                column=base,
            )
        )
    return soc_filter


def soc_of_frame(
    frame: pl.DataFrame,
    model: CellModel,
    initial_soc: float | None = None,
    config: SocConfig | None = None,
    where: str = "frame",
    soc_filter: SocFilter | None = None,
    time_base: str = "test_time_second",
) -> tuple[pl.DataFrame, list[str]]:
    """`soc_trace` for a canonical frame already read (`where` names it in errors); `soc_filter` to
    continue a filter on `time_base` instead of starting one on the test time."""
    _check_soc_inputs(model, initial_soc)
    f = soc_filter or SocFilter(model, initial_soc, config)
    return soc_of_frames([frame], [f], where, time_base)[0]


def soc_of_frames(
    frames: Sequence[pl.DataFrame], filters: Sequence[SocFilter], where: str, time_base: str
) -> list[tuple[pl.DataFrame, list[str]]]:
    """`soc_of_frame` of cells logged on the same clock (`time_base` equal in every frame), each continuing
    its filter; the filters are updated together (`soc.update_together`: a pack's cells at the cost of
    few more than one)."""
    arrays = [signals(frame, where) for frame in frames]
    clocks = [
        a[0] if time_base == "test_time_second" else _time(f, where, time_base)
        for a, f in zip(arrays, frames, strict=True)
    ]
    t = clocks[0]
    if any(not np.array_equal(t, other) for other in clocks[1:]):
        raise ValueError(f"the frames updated together are not on one clock ({time_base})")
    shape = (len(frames), t.size)
    temps = np.full(shape, np.nan)
    for k, frame in enumerate(frames):
        found = _temperature(frame)
        if found is not None:
            temps[k] = found
    v, i = (np.array([a[j] for a in arrays], dtype=np.float64).reshape(shape) for j in (1, 2))
    out = []
    for f, result, (t_test, _, i_cell) in zip(
        filters, update_together(filters, t, v, i, temps), arrays, strict=True
    ):
        warnings = list(result.warnings)
        warnings += _gap_warnings(t, i_cell, f.cfg.block_seconds, 0.02 * f.model.capacity_ah)
        trace = pl.DataFrame({"test_time_second": t_test, "soc": result.soc, "soc_std": result.soc_std})
        out.append((trace, warnings))
    return out


def _check_soc_inputs(model: CellModel, initial_soc: float | None) -> None:
    if initial_soc is not None and not 0.0 <= initial_soc <= 1.0:
        raise DataError(Issue("--initial-soc", f"SOC must be within 0..1, got {initial_soc}"))
    if not model.tables:
        raise DataError(Issue("model", "the cell model has no ECM tables"))


def soc_config(
    model: CellModel,
    initial_soc: float | None,
    initial_soc_std: float | None,
    config: SocConfig | None = None,
) -> SocConfig | None:
    """`config` with the given initial SOC's declared spread, once the inputs are checked."""
    _check_soc_inputs(model, initial_soc)
    if initial_soc_std is None:
        return config
    if initial_soc is None:
        raise DataError(Issue("--initial-soc-std", "needs --initial-soc (the SOC it is the spread of)"))
    if not 0.0 < initial_soc_std <= 1.0:
        raise DataError(Issue("--initial-soc-std", f"must be within 0..1 and above 0, got {initial_soc_std}"))
    return replace(config or SocConfig(), initial_soc_std=initial_soc_std)


def _gap_warnings(t: np.ndarray, i: np.ndarray, longest_s: float, rest_a: float) -> list[str]:
    """Logging gaps under load: the filter assumes nothing flowed while the log was silent."""
    gap = np.flatnonzero((np.diff(t) > longest_s) & ((np.abs(i[:-1]) > rest_a) | (np.abs(i[1:]) > rest_a)))
    if gap.size == 0:
        return []
    k = int(gap[np.argmax(np.diff(t)[gap])])
    return [
        f"{gap.size} logging gap(s) longer than {longest_s:g} s under load, the longest {t[k + 1] - t[k]:g} s "
        f"after {t[k]:g} s (row {k + 2}): no current is assumed to flow in a gap, so the SOC there is "
        "uncertain (see soc_std)"
    ]
