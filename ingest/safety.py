"""Path rules applied to every file found under an ingested folder."""

from __future__ import annotations

from pathlib import Path


def leaves_root(path: Path, root: Path) -> bool:
    """True when ``path`` (a file found under the folder ``root``) is, once symlinks are
    followed, outside ``root``: such a file would publish something nobody put in the folder
    (``/etc/passwd`` through a link), so discovery skips it with a warning."""
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a dangling or looping link: certainly not ours to read
        return True
