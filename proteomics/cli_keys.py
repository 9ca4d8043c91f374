"""``proteomics keys generate|list|export|trust|revoke``: the signing keys of the command line (see
:mod:`proteomics.signing`). Part of the CLI, so it prints."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from .cli_support import examples

keys_app = typer.Typer(name="keys", no_args_is_help=True, help="Signing keys: create, list, export, trust, revoke.")

TrustedDir = Annotated[Path | None, typer.Option("--trusted-dir", help="A trusted-keys folder (e.g. the web "
                                                                        "service's DIR/trusted_keys); default: yours.")]


def register(app: typer.Typer, errors: Callable, console) -> None:
    """Attach the ``keys`` commands to ``app``; ``errors`` is the CLI's error-contract context manager."""

    @keys_app.command("generate", epilog=examples("proteomics keys generate"))
    def generate(no_default: Annotated[bool, typer.Option("--no-default", help="Keep the current default key.")]
                 = False):
        """Create a new Ed25519 key pair, trust it locally and sign with it from now on."""
        from .signing import generate_key

        with errors():
            key = generate_key(make_default=not no_default)
            console.print(f"created key {key.key_id} ({key.path}); share its public key with "
                          f"'proteomics keys export {key.key_id} -o {key.key_id}.pem'")

    @keys_app.command("list", epilog=examples("proteomics keys list"))
    def list_(trusted_dir: TrustedDir = None):
        """List your keys, the trusted keys and the revoked ones."""
        from .signing import list_keys

        with errors():
            rows = list_keys(trusted_dir)
            if not rows:
                console.print("no keys yet (the first 'proteomics panel' creates one)")
            for r in rows:
                tags = [t for t in ("own", "default", "trusted", "revoked") if r[t]]
                console.print(f"{r['key_id']}  {', '.join(tags)}")

    @keys_app.command("export", epilog=examples("proteomics keys export -o my_key.pem"))
    def export(key: Annotated[str | None, typer.Argument(help="Key id (default: your default key).")] = None,
               output: Annotated[Path | None, typer.Option("-o", "--output", "--out", help="PEM file to write "
                                                                                  "(default: print).")] = None):
        """Print or write the public key (PEM) that other sites add with 'keys trust'."""
        from ._files import write_text
        from .errors import InputError
        from .guard import check_outputs
        from .signing import config_dir, export_public_key

        with errors():
            pem = export_public_key(key)
            if output is None:
                console.print(pem.rstrip("\n"), markup=False, highlight=False)
                return
            real, keys = Path(os.path.realpath(output)), Path(os.path.realpath(config_dir()))
            if keys == real or keys in real.parents:
                raise InputError("the exported key would be written inside the key folder", path=output,
                                 hint="export to another folder, e.g. -o my_key.pem")
            check_outputs(inputs=[], outputs=[output], force=True)
            write_text(output, pem)
            console.print(f"wrote {output}")

    @keys_app.command("trust", epilog=examples(
        "proteomics keys trust my_key.pem --trusted-dir proteomics-serve/trusted_keys",
        notes="A colleague's key (from their 'keys export') is trusted the same way."))
    def trust(public_key: Annotated[Path, typer.Argument(help="Public key PEM (from 'keys export').")],
              trusted_dir: TrustedDir = None):
        """Trust signatures made with this public key."""
        from .limits import read_limited
        from .signing import trust_key

        with errors():
            kid = trust_key(read_limited(public_key, 64 * 1024, what="public key"), folder=trusted_dir)
            console.print(f"trusted key {kid}")

    @keys_app.command("revoke", epilog=examples("proteomics keys revoke 0123456789abcdef"))
    def revoke(key_id: Annotated[str, typer.Argument(help="Key id (see 'keys list').")],
               trusted_dir: TrustedDir = None):
        """Revoke a key: its signatures are refused from now on (and it can no longer sign here)."""
        from .signing import revoke_key

        with errors():
            revoke_key(key_id, folder=trusted_dir)
            console.print(f"revoked key {key_id}")

    app.add_typer(keys_app)
