"""Authenticity of locked signatures: Ed25519 signing keys, the trusted-keys list, revocation.

A checksum (``sha256``) detects accidents; anyone can recompute it after changing a coefficient. Signing adds
authenticity: ``panel`` and ``stratify`` sign every signature with the user's private key, and ``score``,
``validate``, ``verify-signature`` and the web service accept only signatures whose key is trusted and not
revoked. The file layout (DESIGN.md): a ``signing`` block ``{algorithm, key_id, public_key, signature}`` whose
``signature`` covers the file's exact bytes with both the ``sha256`` value and the ``signature`` value left
empty. Ed25519 is deterministic, so a rerun with the same key writes the same bytes.

Key folders (``config_dir()`` is ``$PROTEOMICS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/proteomics``, else
``~/.config/proteomics``):

- ``keys/<key_id>.pem``: the user's private keys (PKCS#8 PEM, mode 0600); ``keys/default`` names the one used.
- ``trusted_keys/<key_id>.pem``: trusted public keys (SubjectPublicKeyInfo PEM); ``trusted_keys/revoked.txt``:
  revoked key ids, one per line. A site (e.g. the web service's ``DIR/trusted_keys/``) keeps the same layout.

The key id is the first 16 hex digits of the sha256 of the raw 32-byte public key, so it is computed from the
key, never taken from a file name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from .errors import InputError, SignatureError
from .limits import MAX_SIGNATURE_BYTES, loads_json

__all__ = ["ALGORITHM", "CONFIG_ENV", "SigningKey", "config_dir", "trusted_dir", "key_id_of", "generate_key",
           "load_signing_key", "sign_signature", "verify_signed", "trust_key", "revoke_key", "load_trusted_keys",
           "revoked_keys", "list_keys", "export_public_key", "signing_block", "blank_for_signing"]

ALGORITHM = "ed25519"
CONFIG_ENV = "PROTEOMICS_CONFIG_DIR"
_SHA_RE = re.compile(rb'\n  "sha256": "([0-9a-f]*)"')
_BLOCK_RE = re.compile(rb'\n  "signing": \{\n    "algorithm": "([^"\\]*)",\n    "key_id": "([^"\\]*)",\n'
                       rb'    "public_key": "([^"\\]*)",\n    "signature": "([A-Za-z0-9+/=]*)"\n  \}')
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


# -- folders ------------------------------------------------------------------------------------------------
def config_dir() -> Path:
    """The user's configuration folder (``$PROTEOMICS_CONFIG_DIR`` overrides ``~/.config/proteomics``)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "proteomics"


def _keys_dir() -> Path:
    return config_dir() / "keys"


def trusted_dir(folder: str | os.PathLike | None = None) -> Path:
    """The trusted-keys folder: ``folder`` when given (a site's list), else the user's."""
    return Path(folder) if folder is not None else config_dir() / "trusted_keys"


# -- keys ---------------------------------------------------------------------------------------------------
def key_id_of(public_raw: bytes) -> str:
    """Key id: first 16 hex digits of sha256(raw 32-byte Ed25519 public key)."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key with its id and the raw public key."""

    key_id: str
    private: Any
    public_raw: bytes
    path: Path | None = None

    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _from_private(priv, path=None) -> SigningKey:
    raw = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SigningKey(key_id_of(raw), priv, raw, path)


def _durable_temp(path: Path, data: bytes, mode: int) -> str:
    """``data`` written and fsynced to a new temporary file beside ``path`` with ``mode``; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file ``path`` atomically (temp file + hard link: fails if ``path`` exists)."""
    tmp = _durable_temp(path, data, mode)
    try:
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` atomically (temp file + rename)."""
    tmp = _durable_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def generate_key(*, make_default: bool = True) -> SigningKey:
    """Create a new key pair in the user's ``keys/`` folder, trust its public key locally and (by default)
    make it the key used for signing."""
    priv = ed25519.Ed25519PrivateKey.generate()
    key = _from_private(priv)
    pem = priv.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = _keys_dir() / f"{key.key_id}.pem"
    try:
        _write_new(path, pem, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write the signing key ({exc.strerror})", path=path,
                         hint=f"check permissions of {config_dir()} or set {CONFIG_ENV}") from None
    trust_key(key.public_pem().encode())
    if make_default:
        _replace_file(_keys_dir() / "default", (key.key_id + "\n").encode())
    return replace(key, path=path)


def _default_key(create: bool) -> SigningKey:
    pointer = _keys_dir() / "default"
    if pointer.is_file():
        kid = pointer.read_text(encoding="utf-8").strip()
        return _load_private(_keys_dir() / f"{kid}.pem")
    if not create:
        raise SignatureError("no signing key yet", hint="run 'proteomics keys generate'")
    key = generate_key(make_default=False)
    try:  # first use by two processes at once: exactly one key becomes the default
        _write_new(pointer, (key.key_id + "\n").encode(), 0o644)
    except FileExistsError:
        for p in (key.path, trusted_dir() / f"{key.key_id}.pem"):
            with contextlib.suppress(OSError):
                p.unlink()
        return _default_key(create=False)
    return key


def _load_private(path: Path) -> SigningKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read signing key ({exc.strerror})", path=path,
                             hint="give a private key PEM file or a key id from 'proteomics keys list'") from None
    try:
        priv = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"not an unencrypted PEM private key ({exc})", path=path) from None
    if not isinstance(priv, ed25519.Ed25519PrivateKey):
        raise SignatureError("signing key is not an Ed25519 key", path=path, hint="use 'proteomics keys generate'")
    return _from_private(priv, Path(path))


def load_signing_key(key: str | os.PathLike | None = None) -> SigningKey:
    """The key to sign with: a private-key PEM path, a key id from the user's ``keys/`` folder, or None for the
    user's default key (created on first use). A locally revoked key is refused."""
    if key is None:
        k = _default_key(create=True)
    elif isinstance(key, str) and _KEY_ID_RE.match(key) and not Path(key).exists():
        k = _load_private(_keys_dir() / f"{key}.pem")
    else:
        k = _load_private(Path(key))
    if k.key_id in revoked_keys():
        raise SignatureError(f"signing key {k.key_id} is revoked", hint="run 'proteomics keys generate' for a new "
                                                                        "key, or choose another with --sign-key")
    return k


# -- trusted and revoked keys -------------------------------------------------------------------------------
def _public_raw(data: bytes, path=None) -> bytes:
    """Raw 32-byte public key from PEM (SubjectPublicKeyInfo) or base64 of the raw key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            pub = load_pem_public_key(text)
        except ValueError as exc:
            raise SignatureError(f"not a PEM public key ({exc})", path=path) from None
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise SignatureError("public key is not an Ed25519 key", path=path)
        return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SignatureError("not an Ed25519 public key (PEM, or base64 of 32 bytes)", path=path,
                             hint="use the file written by 'proteomics keys export'")
    return raw


def _pem_of_raw(raw: bytes) -> bytes:
    pub = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def trust_key(public: bytes, *, folder: str | os.PathLike | None = None) -> str:
    """Add a public key (PEM or base64 raw) to a trusted-keys folder; returns its key id. A revoked key is
    refused (revocation is final for that folder)."""
    raw = _public_raw(public)
    kid = key_id_of(raw)
    if kid in revoked_keys(folder):
        raise SignatureError(f"key {kid} was revoked here and cannot be trusted again",
                             hint="ask its owner for a new key")
    path = trusted_dir(folder) / f"{kid}.pem"
    if not path.exists():
        try:
            _write_new(path, _pem_of_raw(raw), 0o644)
        except FileExistsError:
            pass
        except OSError as exc:
            raise InputError(f"cannot write the trusted key ({exc.strerror})", path=path) from None
    return kid


def revoke_key(key_id: str, *, folder: str | os.PathLike | None = None) -> None:
    """Record ``key_id`` as revoked in a trusted-keys folder: its signatures are refused from then on."""
    if not _KEY_ID_RE.match(key_id or ""):
        raise InputError(f"{key_id!r} is not a key id (16 hex digits)", hint="see 'proteomics keys list'")
    ids = revoked_keys(folder)
    if key_id in ids:
        return
    path = trusted_dir(folder) / "revoked.txt"
    text = "".join(f"{k}\n" for k in sorted(ids | {key_id}))
    _replace_file(path, text.encode())
    pointer = _keys_dir() / "default"
    if folder is None and pointer.is_file() and pointer.read_text().strip() == key_id:
        pointer.unlink()  # the next signing creates a fresh key


def revoked_keys(folder: str | os.PathLike | None = None) -> set[str]:
    """Key ids listed in a trusted-keys folder's ``revoked.txt`` (``#`` starts a comment)."""
    path = trusted_dir(folder) / "revoked.txt"
    if not path.is_file():
        return set()
    ids = (ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return {k for k in ids if k}


def load_trusted_keys(folder: str | os.PathLike | None = None) -> dict[str, bytes]:
    """{key_id: raw public key} of every ``*.pem`` in a trusted-keys folder (ids computed from the keys)."""
    d = trusted_dir(folder)
    out: dict[str, bytes] = {}
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.pem")):
        if not p.is_file():
            continue
        try:
            raw = _public_raw(p.read_bytes()[:4096], path=p)
        except SignatureError:
            continue  # a stray file is not a trusted key
        out[key_id_of(raw)] = raw
    return out


def list_keys(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Own keys, trusted keys and revoked ids as rows {key_id, own, default, trusted, revoked}."""
    own = {p.stem for p in _keys_dir().glob("*.pem")} if _keys_dir().is_dir() else set()
    pointer = _keys_dir() / "default"
    default = pointer.read_text().strip() if pointer.is_file() else None
    trusted = set(load_trusted_keys(folder))
    revoked = revoked_keys(folder)
    return [{"key_id": k, "own": k in own, "default": k == default, "trusted": k in trusted and k not in revoked,
             "revoked": k in revoked} for k in sorted(own | trusted | revoked)]


def export_public_key(key: str | os.PathLike | None = None) -> str:
    """PEM public key of an own key (default key when None), to hand to the sites that should trust it."""
    return load_signing_key(key).public_pem()


# -- signing and verifying ----------------------------------------------------------------------------------
def blank_for_signing(data: bytes) -> bytes:
    """``data`` with the top-level ``sha256`` value and the signing block's ``signature`` value emptied."""
    m = _SHA_RE.search(data)
    b = _BLOCK_RE.search(data)
    if m is None or b is None:
        raise SignatureError("signature file layout not recognised (sha256 or signing block missing)")
    spans = sorted([(m.start(1), m.end(1)), (b.start(4), b.end(4))])
    out, last = [], 0
    for s, e in spans:
        out.append(data[last:s])
        last = e
    out.append(data[last:])
    return b"".join(out)


def sign_signature(sig, *, key: str | os.PathLike | SigningKey | None = None):
    """The signature ``sig`` (a :class:`proteomics.signature.Signature`) signed with ``key`` (PEM path, own key
    id, a :class:`SigningKey`, or None for the user's default key, created on first use) and sealed."""
    k = key if isinstance(key, SigningKey) else load_signing_key(key)
    block = {"algorithm": ALGORITHM, "key_id": k.key_id,
             "public_key": base64.b64encode(k.public_raw).decode("ascii"), "signature": ""}
    unsigned = replace(sig, signing=block, sha256="").sealed()
    blank = blank_for_signing(unsigned.to_bytes())
    block["signature"] = base64.b64encode(k.private.sign(blank)).decode("ascii")
    return replace(sig, signing=block, sha256="").sealed()


def signing_block(data: bytes) -> dict[str, str] | None:
    """The ``signing`` block of signature bytes, or None when the file is unsigned."""
    d = loads_json(data, what="signature")
    block = d.get("signing") if isinstance(d, dict) else None
    if block is None:
        return None
    if not isinstance(block, dict):
        raise SignatureError("signing block is not an object")
    return block


def verify_signed(data: bytes, *, trusted_keys: str | os.PathLike | None = None, path=None) -> str:
    """Check the Ed25519 signature of signature-file bytes; return its key id.

    ``trusted_keys``: a folder of trusted public keys (with its ``revoked.txt``); None = the user's list.
    Raises :class:`SignatureError` naming the reason when the file is unsigned, signed by an unknown or a revoked
    key, or its signature does not match its bytes.
    """
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"signature is larger than {MAX_SIGNATURE_BYTES // 2**20} MiB", path=path)
    try:
        block = signing_block(data)
    except SignatureError:
        raise
    except InputError as exc:
        raise SignatureError(exc.message, path=path, hint=exc.hint) from None
    if block is None:
        raise SignatureError("signature is unsigned (no signing block): its authenticity cannot be checked",
                             path=path, hint="ask its author for a signed copy; old files may be scored with "
                                             "--allow-unsigned, which marks every output")
    m = _BLOCK_RE.search(data)
    fields = ("algorithm", "key_id", "public_key", "signature")
    if m is None or [block.get(f) for f in fields] != [g.decode() for g in m.groups()] or len(block) != 4:
        raise SignatureError("signing block is malformed", path=path, hint="use the original signature file")
    if block["algorithm"] != ALGORITHM:
        raise SignatureError(f"signing algorithm {block['algorithm']!r} is not supported", path=path,
                             hint=f"signatures are signed with {ALGORITHM}")
    try:
        raw = base64.b64decode(block["public_key"], validate=True)
        value = base64.b64decode(block["signature"], validate=True)
    except (binascii.Error, ValueError):
        raw = value = b""
    kid = block["key_id"]
    if len(raw) != 32 or key_id_of(raw) != kid or len(value) != 64:
        raise SignatureError(f"signing block of key {kid!r} is inconsistent (key id, public key or signature "
                             "length)", path=path, hint="use the original signature file")
    where = "the web service's" if trusted_keys is not None else "your"
    if kid in revoked_keys(trusted_keys):
        raise SignatureError(f"signed by key {kid}, which is revoked", path=path,
                             hint="ask the author for a copy signed with a current key")
    trusted = load_trusted_keys(trusted_keys)
    if kid not in trusted or trusted[kid] != raw:
        raise SignatureError(f"signed by key {kid}, which is not in {where} trusted keys", path=path,
                             hint="if you know this key belongs to the author, add it with "
                                  "'proteomics keys trust KEY.pem'")
    from cryptography.exceptions import InvalidSignature

    try:
        ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(value, blank_for_signing(data))
    except InvalidSignature:
        raise SignatureError(f"the Ed25519 signature of key {kid} does not match the file's bytes: it was "
                             "modified after signing", path=path, hint="use the original signature file") from None
    return kid
