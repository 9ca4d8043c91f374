"""Ed25519 signing of signatures: the DESIGN.md byte contract, trust, revocation, forgery refused."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from proteomics import signing
from proteomics.errors import SignatureError
from proteomics.signature import Signature


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    """Each test gets an empty key folder."""
    monkeypatch.setenv(signing.CONFIG_ENV, str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def _sig(**kw) -> Signature:
    base = dict(kind="panel", name="toy", proteins=("P1", "P2"), specimen="plasma",
                model={"type": "logistic", "coef": [[0.5, -1.25]], "intercept": [0.1], "binary": True,
                       "classes": ["case", "control"], "positive": "case", "model_classes": [0, 1],
                       "fill": {"method": "min", "values": [20.0, 21.0]},
                       "scale": {"mean": [22.0, 23.0], "scale": [1.0, 2.0], "var": [1.0, 4.0],
                                 "n_samples_seen": 10}})
    base.update(kw)
    return Signature(**base).sealed()


def _independent_blank(data: bytes) -> bytes:
    """The DESIGN.md rule written out independently: sha256 and signature values emptied."""
    data = re.sub(rb'(\n  "sha256": ")[0-9a-f]*"', rb'\1"', data)
    return re.sub(rb'(\n    "signature": ")[A-Za-z0-9+/=]*("\n  \})', rb'\1\2', data)


def test_signed_bytes_follow_the_contract():
    signed = signing.sign_signature(_sig())
    data = signed.to_bytes()
    d = json.loads(data)
    block = d["signing"]
    assert set(block) == {"algorithm", "key_id", "public_key", "signature"} and block["algorithm"] == "ed25519"
    raw = base64.b64decode(block["public_key"])
    pub = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    pub.verify(base64.b64decode(block["signature"]), _independent_blank(data))  # raises if wrong
    import hashlib
    assert hashlib.sha256(re.sub(rb'(\n  "sha256": ")[0-9a-f]*"', rb'\1"', data)).hexdigest() == d["sha256"]
    assert signing.verify_signed(data) == block["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    # the container round-trips the signed file byte for byte, and reruns are byte-identical
    assert Signature.from_bytes(data).to_bytes() == data
    assert signing.sign_signature(_sig()).to_bytes() == data


def test_unsigned_refused_with_reason():
    with pytest.raises(SignatureError, match="unsigned"):
        signing.verify_signed(_sig().to_bytes())


def test_forgery_with_recomputed_checksum_refused():
    data = signing.sign_signature(_sig()).to_bytes()
    forged = data.replace(b"-1.25", b"-9.25")
    # recompute the checksum by the public rule: the checksum passes, the signature does not
    blank = re.sub(rb'(\n  "sha256": ")[0-9a-f]*"', rb'\1"', forged)
    import hashlib
    forged = blank.replace(b'\n  "sha256": ""', b'\n  "sha256": "' + hashlib.sha256(blank).hexdigest().encode() + b'"')
    Signature.from_bytes(forged)  # checksum OK
    with pytest.raises(SignatureError, match="does not match"):
        signing.verify_signed(forged)


def test_attacker_key_is_not_trusted(tmp_path):
    attacker = ed25519.Ed25519PrivateKey.generate()
    pem = tmp_path / "attacker.pem"
    pem.write_bytes(attacker.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    signing.load_signing_key()  # the user's own key exists and is trusted
    data = signing.sign_signature(_sig(), key=pem).to_bytes()
    with pytest.raises(SignatureError, match="not in your trusted keys"):
        signing.verify_signed(data)
    # once trusted, accepted; a site folder has its own list
    pub = attacker.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = signing.trust_key(pub)
    assert signing.verify_signed(data) == kid
    site = tmp_path / "site_trusted"
    with pytest.raises(SignatureError, match="not in the web service's trusted keys"):
        signing.verify_signed(data, trusted_keys=site)
    signing.trust_key(pub, folder=site)
    assert signing.verify_signed(data, trusted_keys=site) == kid


def test_swapped_public_key_block_refused(tmp_path):
    data = signing.sign_signature(_sig()).to_bytes()
    other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                          serialization.PublicFormat.Raw)
    d = json.loads(data)
    bad = data.replace(d["signing"]["public_key"].encode(), base64.b64encode(other))
    with pytest.raises(SignatureError, match="inconsistent"):
        signing.verify_signed(bad)


def test_revoked_key_refused_and_not_used_again():
    signed = signing.sign_signature(_sig())
    kid = signed.signing["key_id"]
    signing.revoke_key(kid)
    with pytest.raises(SignatureError, match="revoked"):
        signing.verify_signed(signed.to_bytes())
    with pytest.raises(SignatureError, match="revoked"):
        signing.load_signing_key(kid)
    with pytest.raises(SignatureError, match="revoked"):
        signing.trust_key(signed.signing["public_key"].encode())
    fresh = signing.load_signing_key()  # the default was revoked: a new key is made
    assert fresh.key_id != kid
    rows = {r["key_id"]: r for r in signing.list_keys()}
    assert rows[kid]["revoked"] and not rows[kid]["trusted"] and rows[fresh.key_id]["default"]


def test_first_use_by_two_processes_makes_one_default_key(tmp_path):
    env_dir = tmp_path / "race"
    code = "from proteomics import signing; print(signing.load_signing_key().key_id)"
    import os
    env = {**os.environ, signing.CONFIG_ENV: str(env_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env) for _ in range(3)]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(ids) == 1
    assert (env_dir / "keys" / "default").read_text().strip() == ids.pop().decode()
    keys = list((env_dir / "keys").glob("*.pem"))
    assert len(keys) == 1 and oct(keys[0].stat().st_mode)[-3:] == "600"  # the losers removed their keys
    assert len(list((env_dir / "trusted_keys").glob("*.pem"))) == 1
