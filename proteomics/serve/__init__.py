"""The clinician's web service (``proteomics serve``): authenticated scoring against approved signatures.

Modules: :mod:`.settings` (one settings object), :mod:`.db` (SQLAlchemy models, Alembic migrations),
:mod:`.audit` (append-only hash-chained trail), :mod:`.auth` (users, roles, sessions, CSRF), :mod:`.registry`
(imported and approved signatures), :mod:`.scoring` (the worker that calls the same code as ``proteomics
score``), :mod:`.app` and :mod:`.views` (FastAPI routes, Jinja2 pages), :mod:`.cli` (the commands).
Nothing is imported at package import time.
"""

__all__ = ["create_app"]


def create_app(settings):  # pragma: no cover - thin re-export
    """The FastAPI application for ``settings`` (see :func:`proteomics.serve.app.create_app`)."""
    from .app import create_app as _create

    return _create(settings)
