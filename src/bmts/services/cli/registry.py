"""`bmts battery ...`, `bmts event add`, `bmts ledger ...`: thin adapters over the registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bmts.ingest.bdf_writer import atomic_path
from bmts.pipeline.passport import battery_passport
from bmts.pipeline.passport_qr import passport_qr, write_qr
from bmts.pipeline.registration import battery_from_fields, register_from_csv
from bmts.registry import Registry, verify
from bmts.schema import DataError, Issue
from bmts.storage import EmbeddedStore

out = Console(soft_wrap=True)
AtOption = Annotated[str | None, typer.Option("--at", help="when it happened (ISO 8601; default now)")]
ActorOption = Annotated[str, typer.Option("--actor", help="who records it")]
ResolverOption = Annotated[
    str | None,
    typer.Option("--resolver", envvar="BMTS_PASSPORT_RESOLVER", help="base URL of the passport resolver"),
]


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(Issue("--at", f"not an ISO 8601 date or time: {text!r}")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(value, default=str))
    elif isinstance(value, dict):
        for key, item in value.items():
            out.print(f"{key}: {item}", markup=False, highlight=False)
    else:
        for item in value:
            out.print(item, markup=False, highlight=False)


def register(battery_app: typer.Typer, app: typer.Typer, store: Callable[[], EmbeddedStore]) -> None:
    """Add the registry commands to the `bmts` app."""
    event_app = typer.Typer(no_args_is_help=True, help="The lifecycle ledger's events.")
    ledger_app = typer.Typer(no_args_is_help=True, help="Check the tamper-evident ledger.")
    app.add_typer(event_app, name="event")
    app.add_typer(ledger_app, name="ledger")

    def registry() -> Registry:
        return Registry(store().engine)

    @battery_app.command("register")
    def register_command(
        battery_id: Annotated[str | None, typer.Argument(help="the battery's id")] = None,
        kind: Annotated[str, typer.Option(help="cell, module, pack or system")] = "cell",
        category: Annotated[str | None, typer.Option(help="ev, lmt, industrial or stationary")] = None,
        chemistry: Annotated[str | None, typer.Option()] = None,
        manufacturer: Annotated[str | None, typer.Option()] = None,
        model: Annotated[str | None, typer.Option()] = None,
        serial_number: Annotated[str | None, typer.Option("--serial")] = None,
        passport_id: Annotated[str | None, typer.Option("--passport-id", help="URN of its passport")] = None,
        nominal_capacity_ah: Annotated[float | None, typer.Option("--capacity-ah")] = None,
        nominal_energy_wh: Annotated[float | None, typer.Option("--energy-wh")] = None,
        nominal_voltage_v: Annotated[float | None, typer.Option("--voltage-v")] = None,
        rated_power_w: Annotated[float | None, typer.Option("--power-w")] = None,
        mass_kg: Annotated[float | None, typer.Option("--mass-kg")] = None,
        manufactured_on: Annotated[str | None, typer.Option("--manufactured-on", help="YYYY-MM-DD")] = None,
        manufacturing_place: Annotated[str | None, typer.Option("--place")] = None,
        passport_data: Annotated[
            Path | None, typer.Option("--passport-data", help="static BatteryPass JSON")
        ] = None,
        from_csv: Annotated[
            Path | None, typer.Option("--from-csv", help="register every row (all or none)")
        ] = None,
        actor: ActorOption = "bmts",
    ) -> None:
        """Register a battery (or every row of a CSV whose header names the fields)."""
        if from_csv is not None:
            done = register_from_csv(registry(), from_csv, actor)
            out.print(f"registered {len(done)} batteries from {from_csv}", markup=False)
            return
        if battery_id is None:
            raise DataError(Issue("battery register", "give a battery id or --from-csv FILE"))
        fields: dict[str, Any] = {
            "id": battery_id,
            "kind": kind,
            "category": category,
            "chemistry": chemistry,
            "manufacturer": manufacturer,
            "model": model,
            "serial_number": serial_number,
            "passport_id": passport_id,
            "nominal_capacity_ah": nominal_capacity_ah,
            "nominal_energy_wh": nominal_energy_wh,
            "nominal_voltage_v": nominal_voltage_v,
            "rated_power_w": rated_power_w,
            "mass_kg": mass_kg,
            "manufactured_on": manufactured_on,
            "manufacturing_place": manufacturing_place,
        }
        if passport_data is not None:
            try:
                fields["passport_data"] = json.loads(passport_data.read_text())
            except (OSError, ValueError) as e:
                raise DataError(Issue(str(passport_data), f"not a readable JSON file: {e}")) from None
        registry().register(battery_from_fields(fields, battery_id), actor)
        out.print(f"registered {battery_id}", markup=False)

    @battery_app.command("update-passport")
    def update_passport(
        battery_id: str,
        passport_data: Annotated[Path, typer.Option("--passport-data", help="static BatteryPass JSON")],
        at: AtOption = None,
        actor: ActorOption = "bmts",
    ) -> None:
        """Record new static passport data (from --at on); older passports keep the data of their date."""
        try:
            data = json.loads(passport_data.read_text())
        except (OSError, ValueError) as e:
            raise DataError(Issue(str(passport_data), f"not a readable JSON file: {e}")) from None
        digest = registry().update_passport_data(battery_id, data, _when(at), actor)
        out.print(f"passport data of {battery_id} updated (sha256 {digest[:16]})", markup=False)

    @battery_app.command("show")
    def show_command(
        battery_id: str,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        resolver: ResolverOption = None,
    ) -> None:
        """What is registered about a battery, with its current parent and children and its QR payload."""
        reg = registry()
        record = reg.get(battery_id).public_dict()
        record["children"] = reg.children(battery_id)
        qr = passport_qr(reg, battery_id, resolver)
        record["passport_qr"] = qr.payload if qr else None
        _print(record, as_json)

    @battery_app.command("qr")
    def qr_command(
        battery_id: str,
        output: Annotated[Path | None, typer.Option("-o", "--output", help="QR image (.png or .svg)")] = None,
        resolver: ResolverOption = None,
    ) -> None:
        """Print the payload of the QR code that links the battery to its passport; -o writes the image."""
        qr = passport_qr(registry(), battery_id, resolver)
        if qr is None:
            raise DataError(Issue(battery_id, "no passport identifier registered (--passport-id)"))
        if qr.conflict:
            Console(stderr=True).print(f"warning: {battery_id}: {qr.conflict}", markup=False)
        if output is not None:
            write_qr(qr.payload, output)
        out.print(qr.payload, markup=False, highlight=False)

    @battery_app.command("history")
    def history_command(battery_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """The battery's lifecycle events, oldest first."""
        events = registry().history(battery_id)
        if as_json:
            _print([e.__dict__ for e in events], True)
            return
        for e in events:
            payload = json.dumps(e.payload) if e.payload else ""
            out.print(
                f"#{e.seq}\t{e.occurred_at}\t{e.kind}\t{e.actor}\t{payload}", markup=False, highlight=False
            )

    @battery_app.command("install")
    def install_command(
        parent: str,
        child: str,
        at: AtOption = None,
        actor: ActorOption = "bmts",
        position: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Put CHILD (a cell, module or pack) into PARENT."""
        registry().install(parent, child, _when(at), actor, position)
        out.print(f"{child} installed in {parent}", markup=False)

    @battery_app.command("remove")
    def remove_command(parent: str, child: str, at: AtOption = None, actor: ActorOption = "bmts") -> None:
        """Take CHILD out of PARENT."""
        registry().remove(parent, child, _when(at), actor)
        out.print(f"{child} removed from {parent}", markup=False)

    @battery_app.command("replace")
    def replace_command(
        parent: str,
        old: str,
        new: str,
        at: AtOption = None,
        actor: ActorOption = "bmts",
        reason: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Swap OLD for NEW inside PARENT (repair); each keeps its own history."""
        registry().replace(parent, old, new, _when(at), actor, reason)
        out.print(f"{old} replaced by {new} in {parent}", markup=False)

    @battery_app.command("owner")
    def owner_command(battery_id: str, at: AtOption = None) -> None:
        """Who held the battery at a date (default now)."""
        moment = _when(at) or datetime.now(UTC)
        out.print(registry().owner_at(battery_id, moment) or "unknown", markup=False)

    @event_app.command("add")
    def event_add(
        battery_id: str,
        kind: str,
        at: AtOption = None,
        actor: ActorOption = "bmts",
        payload: Annotated[str | None, typer.Option(help="JSON object with the event's details")] = None,
    ) -> None:
        """Append a lifecycle event (shipped, installed, serviced, fault, tested, graded, recycled, ...)."""
        details: dict[str, Any] = {}
        if payload:
            try:
                details = json.loads(payload)
            except ValueError as e:
                raise DataError(Issue("--payload", f"not JSON: {e}")) from None
            if not isinstance(details, dict):
                raise DataError(Issue("--payload", "must be a JSON object"))
        event = registry().add_event(battery_id, kind, _when(at), actor, details)
        out.print(f"recorded #{event.seq} {event.kind} for {battery_id} ({event.hash[:16]})", markup=False)

    @app.command("passport")
    def passport_command(
        battery_id: str,
        output: Annotated[Path, typer.Option("-o", "--output", help="JSON file")],
        role: Annotated[str, typer.Option(help="public, legitimate_interest or authority")] = "public",
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="the passport as it was on this date")
        ] = None,
    ) -> None:
        """The EU battery passport (BatteryPass v1.2), with the fields the role may see."""
        document = battery_passport(store(), battery_id, role, _when(as_of))
        if role != "public" and "batteryCondition" not in (document.get("Performance") or {}):
            Console(stderr=True).print(
                f"warning: no telemetry stored for {battery_id} nor for any battery installed in it, so "
                "the passport has no batteryCondition (mandatory for most battery categories)",
                markup=False,
            )
        with atomic_path(output) as tmp:
            tmp.write_text(
                json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8"
            )
        out.print(f"wrote the {role} passport of {battery_id} to {output}", markup=False)

    @ledger_app.command("verify")
    def ledger_verify(
        root: Annotated[str | None, typer.Option(help="a root published earlier")] = None,
    ) -> None:
        """Recompute every hash chain; fails naming the first edited, moved or deleted event."""
        result = verify(store().engine, root)
        versions = registry().verify_passport_data()
        out.print(f"passport data: {versions} versions match the ledger", markup=False)
        out.print(
            f"ledger ok: {result.events} events of {result.batteries} batteries; root {result.root}",
            markup=False,
        )

    @ledger_app.command("root")
    def ledger_root() -> None:
        """Print the ledger root, to publish outside bmts and check later with `verify --root`."""
        out.print(verify(store().engine).root, markup=False)
