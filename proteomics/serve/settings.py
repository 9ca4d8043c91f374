"""Settings of the clinician's web service (one frozen object shared by the app, the CLI and the tests).

Where things live: the database is ``--db URL`` or the SQLite file ``DATA_DIR/serve.db``; uploads are stored
by their sha256 under ``DATA_DIR/uploads/``; trusted signing keys under ``--trusted-keys DIR`` or
``DATA_DIR/trusted_keys/``. Times are in seconds unless the name says otherwise; sizes in bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServeSettings", "DEFAULT_DATA_DIR"]

DEFAULT_DATA_DIR = Path("proteomics-serve")


@dataclass(frozen=True)
class ServeSettings:
    """Everything the service needs to run.

    ``idle_timeout``: a session unused for this long (seconds) must log in again. ``max_upload``: largest upload
    (bytes). ``lockout``: after ``max_failures`` consecutive failed logins a user is refused for this long
    (seconds), also with the right password; every refused attempt is recorded. ``workers``: scoring processes
    (0 = threads in this process; scoring never runs on the event loop). ``secure_cookies``: mark the session
    cookie ``Secure`` (needed behind a TLS reverse proxy; on plain-HTTP loopback the browser would drop it).
    ``retain_uploads_days``: delete stored uploads older than this at start-up (None = keep; audit rows and
    results are never deleted).
    """

    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    trusted_keys: Path | None = None
    idle_timeout: float = 30 * 60
    max_upload: int = 200 * 1024 * 1024
    lockout: float = 300.0
    max_failures: int = 5
    workers: int = 2
    secure_cookies: bool = False
    retain_uploads_days: int | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.trusted_keys is not None:
            object.__setattr__(self, "trusted_keys", Path(self.trusted_keys))

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'serve.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        """The folder of trusted public keys (``--trusted-keys`` or ``DATA_DIR/trusted_keys``)."""
        return self.trusted_keys if self.trusted_keys is not None else self.data_dir / "trusted_keys"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "tmp"

    def prepare(self) -> None:
        """Create the data folder (owner-only permissions) and its sub-folders."""
        for d in (self.data_dir, self.uploads_dir, self.work_dir):
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(d, 0o700)
            except OSError:  # pragma: no cover - e.g. a mounted volume
                pass
