"""``proteomics keys``: generate, list, export, trust, revoke — and their effect on verify-signature."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from proteomics import signing

from .cli_helpers import invoke


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    monkeypatch.setenv(signing.CONFIG_ENV, str(tmp_path / "cfg"))


def test_generate_list_export_trust_revoke(tmp_path):
    res = invoke("keys", "list")
    assert res.exit_code == 0 and "no keys yet" in res.stdout
    res = invoke("keys", "generate")
    assert res.exit_code == 0, res.stderr
    kid = signing.load_signing_key().key_id
    assert kid in res.stdout
    res = invoke("keys", "list")
    assert f"{kid}  own, default, trusted" in res.stdout
    res = invoke("keys", "export", "-o", tmp_path / "mine.pem")
    assert res.exit_code == 0 and (tmp_path / "mine.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    private = tmp_path / "cfg" / "keys" / f"{kid}.pem"
    before = private.read_bytes()
    res = invoke("keys", "export", "-o", private)  # never over the private key
    assert res.exit_code == 2 and "key folder" in res.stderr and private.read_bytes() == before
    # a site folder trusts the exported key
    res = invoke("keys", "trust", tmp_path / "mine.pem", "--trusted-dir", tmp_path / "site")
    assert res.exit_code == 0 and kid in res.stdout
    assert (tmp_path / "site" / f"{kid}.pem").is_file()
    # a colleague's key
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    (tmp_path / "other.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    res = invoke("keys", "trust", tmp_path / "other.pem")
    assert res.exit_code == 0
    other_id = res.stdout.split()[-1]
    res = invoke("keys", "revoke", other_id)
    assert res.exit_code == 0
    assert f"{other_id}  revoked" in invoke("keys", "list").stdout
    res = invoke("keys", "trust", tmp_path / "other.pem")
    assert res.exit_code == 2 and "revoked" in res.stderr


@pytest.mark.parametrize("args,needle", [(["revoke", "nothex"], "key id"), (["trust", "{junk}"], "Ed25519"),
                                         (["export", "0123456789abcdef"], "cannot read signing key")])
def test_bad_key_arguments_exit_2(args, needle, tmp_path):
    (tmp_path / "junk.pem").write_text("not a key\n")
    res = invoke("keys", *[a.format(junk=tmp_path / "junk.pem") for a in args])
    assert res.exit_code == 2 and needle.lower() in res.stderr.lower(), res.stderr
    assert "Traceback" not in res.stderr
