"""Where the files under deploy/ are: in a checkout, or under the working directory.

The worker image copies deploy/ to /app, beside no source tree, so code that reads the ILM
policy or the Kibana objects looks in the checkout first and then in the working directory.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["deploy_file"]

_CHECKOUT = Path(__file__).resolve().parents[1]


def deploy_file(*parts: str) -> Path:
    """deploy/<parts> in the checkout or the working directory (the checkout's path if neither)."""
    relative = Path("deploy", *parts)
    for root in (_CHECKOUT, Path.cwd()):
        if (root / relative).exists():
            return root / relative
    return _CHECKOUT / relative
