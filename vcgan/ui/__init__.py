"""The local web page (``vcgan ui``): a tab per journey (voice conversion, postfilter, images),
over the same inference objects as the command line. Optional: ``pip install 'vcgan[ui]'``."""
from __future__ import annotations

from ..errors import VcganError


def require_ui() -> None:
    """A clear error where the ``ui`` extra is not installed."""
    missing = []
    for mod in ("starlette", "uvicorn", "python_multipart"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod.replace("_", "-"))
    if missing:
        raise VcganError(f"the web page needs {', '.join(missing)}: pip install 'vcgan[ui]'")


def serve(host: str = "127.0.0.1", port: int = 7860, checkpoints=(), max_seconds: float = 60.0) -> None:
    require_ui()
    import uvicorn

    from .app import create_app

    app = create_app(checkpoints=checkpoints, max_seconds=max_seconds)
    print(f"vcgan ui: http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
