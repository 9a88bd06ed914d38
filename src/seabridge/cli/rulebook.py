"""``seabridge rulebook show|validate|hash``: the shared safety standard of a pack.

Thin commands: :mod:`seabridge.detect` parses and validates the rulebook against the pack's
zones and parties and computes its canonical form and hash; this module presents. An
invalid rulebook is bad input (exit 2) and the message names the file and the field.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from seabridge.cli._app import app, out, user_errors

if TYPE_CHECKING:  # imported inside the commands: detect pulls in numba and scipy
    from seabridge import geo
    from seabridge.detect import Grade, Rulebook, RuleEntry
    from seabridge.packs import Party

__all__ = ["load_pack_rulebook", "rulebook_app"]

rulebook_app = typer.Typer(
    help="The shared safety standard: show, validate and hash a rulebook.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rulebook_app, name="rulebook")

PACK_HELP = "A built-in pack by name (ecs) or a user pack directory by path (./mysea)."
RULEBOOK_HELP = (
    "A rulebook of the pack by name (ecs-standard) or a YAML file by path (./mine.yaml); "
    "default: the pack's rulebook."
)


def load_pack_rulebook(
    name_or_path: str | None, pack_name: str, *, build: bool = True
) -> tuple[Rulebook, geo.ZoneSet, tuple[Party, ...]]:
    """The rulebook, validated against the pack's zones and parties, with those zones and
    parties (what an engine needs). ``build`` also runs each kind's own checks (an engine
    runs them anyway when it is built)."""
    from seabridge import geo
    from seabridge.detect import load_rulebook
    from seabridge.detect.rulebook import build_rules
    from seabridge.packs import load_pack, load_parties

    pack = load_pack(pack_name)
    zones = geo.load_zones(pack)
    parties = load_parties(pack)
    rulebook = load_rulebook(name_or_path, pack, zone_ids=zones.ids, parties=parties)
    if build:
        build_rules(rulebook, zones, parties)
    return rulebook, zones, parties


def _grade_text(grade: Grade) -> str:
    from seabridge.detect.model import metric_unit

    parts = []
    for condition in grade.when:
        if condition.below is not None:
            parts.append(
                f"{condition.metric} < {condition.below:g} {metric_unit(condition.metric)}"
            )
        if condition.above is not None:
            parts.append(
                f"{condition.metric} > {condition.above:g} {metric_unit(condition.metric)}"
            )
    if grade.fleets == "any":
        parts.append("a party's fleet involved")
    elif grade.fleets is not None:
        parts.append(f"fleet of {', '.join(grade.fleets)} involved")
    return f"{grade.level} if " + " and ".join(parts)


def _applies_text(entry: RuleEntry) -> str:
    applies = entry.applies
    parts = []
    if applies.underway_only:
        parts.append("under way")
    if applies.ship_types is not None:
        codes = [f"{a}" if a == b else f"{a}-{b}" for a, b in applies.ship_types]
        parts.append(f"ship types {', '.join(codes)}")
    for name in ("flags", "zones", "fleets"):
        value = getattr(applies, name)
        if value is not None:
            parts.append(f"{name} {', '.join(value)}")
    return "; ".join(parts) or "all vessels"


def _rules_table(rulebook: Rulebook) -> Table:
    from seabridge.detect import KINDS

    table = Table(title=f"{len(rulebook.rules)} rules", title_justify="left")
    for column in ("rule", "kind", "parameters", "applies to", "level"):
        table.add_column(column)
    for entry in rulebook.rules:
        units = {spec.name: spec.unit for spec in KINDS[entry.kind].PARAMS}
        params = ", ".join(f"{k} {v:g} {units[k]}" for k, v in entry.params.items())
        levels = "; ".join([str(entry.level), *(_grade_text(g) for g in entry.grades)])
        table.add_row(entry.id, entry.kind, params, _applies_text(entry), levels)
    return table


@rulebook_app.command("show")
def show_command(
    name_or_path: str | None = typer.Argument(
        None, metavar="[NAME|PATH]", help=RULEBOOK_HELP, show_default=False
    ),
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Print the canonical form (what the hash covers) and its hash."
    ),
) -> None:
    """Show a rulebook: its identity, hash and rules with their parameters and levels."""
    with user_errors():
        rulebook, _, _ = load_pack_rulebook(name_or_path, pack_name)
    if as_json:
        document = {"sha256": rulebook.sha256, "rulebook": rulebook.as_json()}
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    out.print(f"{rulebook.id} version {rulebook.version}: {rulebook.title}", markup=False)
    out.print(f"parties {', '.join(rulebook.parties)}; effective {rulebook.effective}")
    out.print(f"sha256 {rulebook.sha256}")
    out.print(f"file {rulebook.source}", markup=False, soft_wrap=True)
    out.print(_rules_table(rulebook))


@rulebook_app.command("validate")
def validate_command(
    name_or_path: str | None = typer.Argument(
        None, metavar="[NAME|PATH]", help=RULEBOOK_HELP, show_default=False
    ),
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check a rulebook against the rule kinds, the pack's zones and parties.

    Exit status 0 when valid; 2 with one line naming the file and the field otherwise."""
    with user_errors():
        rulebook, _, _ = load_pack_rulebook(name_or_path, pack_name)
    summary = {
        "valid": True,
        "id": rulebook.id,
        "version": rulebook.version,
        "rules": len(rulebook.rules),
        "sha256": rulebook.sha256,
    }
    if as_json:
        print(json.dumps(summary))
        return
    out.print(
        f"valid: {rulebook.id} version {rulebook.version}, {len(rulebook.rules)} rules, "
        f"sha256 {rulebook.sha256}"
    )


@rulebook_app.command("hash")
def hash_command(
    name_or_path: str | None = typer.Argument(
        None, metavar="[NAME|PATH]", help=RULEBOOK_HELP, show_default=False
    ),
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print id, version and sha256 as JSON."),
) -> None:
    """Print the SHA-256 of the rulebook's canonical form: the identity events carry."""
    with user_errors():
        rulebook, _, _ = load_pack_rulebook(name_or_path, pack_name)
    if as_json:
        print(json.dumps(rulebook.ref.as_json()))
        return
    print(rulebook.sha256)
