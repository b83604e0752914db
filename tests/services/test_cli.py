"""The command line as a user runs it: exit codes, one-line errors, no tracebacks, --json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import png
import polars as pl
import pytest
import zxingcpp

from bmts.analytics.passport_sample import passport_identifier
from bmts.ingest import write_bdf

BMTS = [sys.executable, "-c", "from bmts.services.cli.main import run; run()"]


def bmts(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"BMTS_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "120", **extra}
    return subprocess.run([*BMTS, *args], capture_output=True, text=True, env=env, timeout=300)


def test_demo_ingest_cycles_and_list(tmp_path: Path, cell_frame: pl.DataFrame) -> None:
    home = tmp_path / "home"
    demo = bmts("demo", "--cells", "3", "--cycles", "12", home=home)
    assert demo.returncode == 0, demo.stderr
    assert "demo-cell-03" in demo.stdout
    # vehicle, pack, one module and three cells, three roles each
    assert "(public, legitimate_interest, authority): 18 in" in demo.stdout
    assert len(list((home / "demo-data" / "passports").glob("*.json"))) == 18
    listed = {b["id"]: b for b in json.loads(bmts("battery", "list", "--json", home=home).stdout)}
    assert {"demo-cell-01", "demo-cell-02", "demo-cell-03", "demo-pack-01", "demo-ev-01"} <= set(listed)
    assert listed["demo-cell-03"]["parent_id"] == "demo-module-01"
    assert listed["demo-pack-01"]["parent_id"] == "demo-ev-01"
    assert {"id", "kind", "chemistry", "parent_id"} <= set(listed["demo-cell-01"])
    verify = bmts("ledger", "verify", home=home)
    assert verify.returncode == 0 and "ledger ok" in verify.stdout
    path = write_bdf(cell_frame, tmp_path / "c.bdf.csv")
    assert bmts("ingest", str(path), "--battery-id", "c", home=home).returncode == 0
    out = tmp_path / "cycles.csv"
    assert bmts("cycles", "c", "-o", str(out), home=home).returncode == 0
    table = pl.read_csv(out)
    assert table.height == 5 and table["discharge_capacity_ah"][1] > 2.0


def test_bad_input_is_one_line_and_nothing_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "broken.bdf.csv"
    bad.write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,-1\n1,3.7\n")
    result = bmts("ingest", str(bad), home=home)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.bdf.csv" in lines[0] and "row 3" in lines[0]
    assert "Traceback" not in result.stderr
    assert json.loads(bmts("battery", "list", "--json", home=home).stdout) == []
    unknown = bmts("cycles", "nobody", home=home)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("qr") / "home"
    assert bmts("demo", "--cells", "3", "--cycles", "4", home=home).returncode == 0
    return home


def _decode(pixels: np.ndarray) -> list[str]:
    """The texts of the QR codes in a greyscale image (0 = black), decoded by zxing-cpp."""
    return [r.text for r in zxingcpp.read_barcodes(pixels.astype(np.uint8))]


def _svg_modules(path: Path) -> np.ndarray:
    """Rasterise segno's SVG (one path of horizontal runs: M/m moves, h draws) to an image, 0 = dark."""
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    (line,) = root.iter("{http://www.w3.org/2000/svg}path")
    scale = float(line.get("transform", "scale(1)").removeprefix("scale(").removesuffix(")"))
    size = int(float(root.get("width", "0")) / scale)
    image = np.full((size, size), 255, dtype=np.uint8)
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", line.get("d", "")):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            image[int(y), int(x) : int(x + float(a))] = 0
            x += float(a)
    return np.kron(image, np.ones((4, 4), dtype=np.uint8))


def test_battery_qr_links_to_the_passport(demo_home: Path, tmp_path: Path) -> None:
    urn = passport_identifier("demo-pack-01")
    plain = bmts("battery", "qr", "demo-pack-01", home=demo_home)
    assert plain.returncode == 0 and plain.stdout.strip() == urn, plain.stderr
    passport = tmp_path / "pack.json"
    assert bmts("passport", "demo-pack-01", "-o", str(passport), home=demo_home).returncode == 0
    assert json.loads(passport.read_text())["GeneralProductInformation"]["batteryPassportIdentifier"] == urn

    resolver = {"BMTS_PASSPORT_RESOLVER": "https://dpp.example.com/passports/"}
    link = f"https://dpp.example.com/passports/{urn}"
    image = tmp_path / "pack.png"
    made = bmts("battery", "qr", "demo-pack-01", "-o", str(image), home=demo_home, **resolver)
    assert made.returncode == 0 and made.stdout.strip() == link, made.stderr
    width, height, rows, info = png.Reader(filename=str(image)).read()
    pixels = np.vstack([np.asarray(r, dtype=np.uint8) for r in rows]) * (255 if info["bitdepth"] == 1 else 1)
    assert width == height and _decode(pixels) == [link]

    vector = tmp_path / "cell.svg"
    other = "https://resolver.example.org"
    made = bmts(
        "battery", "qr", "demo-cell-02", "-o", str(vector), "--resolver", other, home=demo_home, **resolver
    )
    assert made.returncode == 0, made.stderr
    assert _decode(_svg_modules(vector)) == [f"{other}/{passport_identifier('demo-cell-02')}"]

    shown = json.loads(bmts("battery", "show", "demo-module-01", "--json", home=demo_home, **resolver).stdout)
    assert (
        shown["passport_qr"] == f"https://dpp.example.com/passports/{passport_identifier('demo-module-01')}"
    )


def test_battery_qr_errors_are_one_line(demo_home: Path, tmp_path: Path) -> None:
    cases = [
        (("battery", "qr", "demo-pack-01", "-o", str(tmp_path / "x.gif")), "x.gif"),
        (("battery", "qr", "demo-pack-01", "--resolver", "ftp://x.example"), "resolver"),
        (("battery", "qr", "nobody"), "nobody"),
    ]
    assert bmts("battery", "register", "bare", "--kind", "cell", home=demo_home).returncode == 0
    cases.append((("battery", "qr", "bare"), "no passport identifier"))
    for args, named in cases:
        result = bmts(*args, home=demo_home)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 1 and len(lines) == 1 and named in lines[0], (args, result.stderr)
    assert not (tmp_path / "x.gif").exists()
    assert json.loads(bmts("battery", "show", "bare", "--json", home=demo_home).stdout)["passport_qr"] is None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("soc", "drive.csv", "-o", "soc.csv"), "'--cell-model'"),
        (("soh", "--nominal-capacity-ah", "abc", "a.csv", "-o", "soh.csv"), "'--nominal-capacity-ah'"),
        (("cell-model", "fit", "-o", "m.json"), "'--ocv'"),
        (("soc", "--bogus"), "--bogus"),
    ],
)
def test_usage_errors_are_one_line_naming_the_option(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    result = bmts(*args, home=tmp_path / "home")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr
    assert "--help" in lines[0] and "Parameter" not in lines[0]
