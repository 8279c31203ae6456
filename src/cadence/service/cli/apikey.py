"""``cadence apikey``: create, revoke and list API keys."""

from __future__ import annotations

import typer
from rich.table import Table

from cadence.service.cli.app import app, engine_for, err, out, print_json
from cadence.store.apikeys_repo import SCOPES, create_key, list_keys, revoke_key

apikey_app = typer.Typer(help="API keys for writes and retrains.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def create(
    name: str = typer.Option(..., help="who or what the key is for"),
    scopes: str = typer.Option("read", help="comma-separated: read, write, admin"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a key; the key itself is printed once and never stored."""
    wanted = tuple(s.strip() for s in scopes.split(",") if s.strip())
    bad = [s for s in wanted if s not in SCOPES]
    if bad or not wanted:
        err.print(f"error: --scopes must be a subset of {', '.join(SCOPES)}, got {scopes!r}")
        raise typer.Exit(2)
    key, info = create_key(engine_for(), name, wanted)
    if as_json:
        print_json({"key": key, "name": info.name, "prefix": info.prefix, "scopes": info.scopes})
        return
    out.print(key, highlight=False)
    err.print(
        f"key {info.prefix} for {info.name!r} with scopes {','.join(info.scopes)}; "
        "store it now: it is not shown again"
    )


@apikey_app.command("revoke")
def revoke(prefix: str = typer.Argument(..., help="the key's prefix (see `apikey list`)")) -> None:
    """Revoke a key by its prefix."""
    revoke_key(engine_for(), prefix)
    out.print(f"revoked {prefix}")


@apikey_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List keys (names, prefixes, scopes; never the keys)."""
    keys = list_keys(engine_for())
    if as_json:
        print_json(
            [
                {"name": k.name, "prefix": k.prefix, "scopes": k.scopes, "revoked": k.revoked}
                for k in keys
            ]
        )
        return
    t = Table(title="API keys")
    for col in ("prefix", "name", "scopes", "revoked"):
        t.add_column(col)
    for k in keys:
        t.add_row(k.prefix, k.name, ",".join(k.scopes), "yes" if k.revoked else "")
    out.print(t)
