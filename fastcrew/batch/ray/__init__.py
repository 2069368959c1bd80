"""``fastcrew batch --backend ray``: the batch workers as Ray actors (see docs/ray.md).

Ray is optional (``pip install "fastcrew[ray]"``) and imported in one module,
:mod:`fastcrew.batch.ray._ray`, only when a run asks for this backend: the local backend never
imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ConfigurationError

if TYPE_CHECKING:
    from .backend import RayBackend

__all__ = ["INSTALL_LINE", "load"]

INSTALL_LINE = 'pip install "fastcrew[ray]"'


def load() -> type[RayBackend]:
    """The Ray backend; a :class:`~fastcrew.ConfigurationError` with the install line when
    Ray is not installed."""
    try:
        from . import _ray  # noqa: F401  (imports ray)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        raise ConfigurationError(
            f"--backend ray needs Ray, which is not installed here: {INSTALL_LINE}"
        ) from None
    from .backend import RayBackend

    return RayBackend
