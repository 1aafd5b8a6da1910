"""The web app behind ``vcgan ui``: a Starlette application whose endpoints take uploads, apply
a model through its inference object (``vcgan.load``: the same objects as ``vcgan convert``,
``postfilter``, ``translate``, ``sample`` and ``complete``) and return JSON with links to the
results. No model code lives here.

Every failure of an input (not audio, silent, too long, too large, an unknown speaker) is a
JSON ``{"error": ...}`` with status 400 that the page shows; anything unexpected is a 500 with
a one-line message, and the server keeps serving. Results live in a temporary folder of which
only the most recent ``keep`` survive, so memory and disk stay flat however long it runs.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import pretrained
from ..errors import VcganError

STATIC = Path(__file__).resolve().parent / "static"
AUDIO_TYPES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
MAX_BATCH = 50


class InputError(VcganError):
    """A problem with what the user sent: shown in the page as it is."""


# ------------------------------------------------------------------ models
class Models:
    """What the page offers: the shipped models and the checkpoints given to ``vcgan ui``.
    Each is loaded once (``vcgan.load``) and kept."""

    def __init__(self, checkpoints=()):
        from .. import load

        self._load = load
        self.entries: "OrderedDict[str, dict]" = OrderedDict()
        self._loaded: dict = {}
        shipped = pretrained.manifest()
        for name in sorted(shipped, key=lambda n: (shipped[n].get("rank", 1), n)):  # rank 0 first: the default
            e = shipped[name]
            self.entries[name] = {"id": name, "label": f"{name} (shipped)", "source": name,
                                  "command": e["command"].split()[-1], "shipped": True}
        for c in checkpoints:
            path = Path(c)
            model = load(path)  # a clear error for a bad checkpoint before the server starts
            mid = local_name(path, self.entries)
            self.entries[mid] = {"id": mid, "label": f"{mid} (local)", "source": str(path),
                                 "command": model.command.split()[-1], "shipped": False}
            self._loaded[mid] = model

    def get(self, mid: str, command: str):
        if mid not in self.entries:
            raise InputError(f"no model {mid!r} here; choose one of: {', '.join(self.entries) or 'none'}")
        e = self.entries[mid]
        if e["command"] != command:
            raise InputError(f"{mid} is applied by `vcgan {e['command']}`, not on this tab")
        if mid not in self._loaded:
            self._loaded[mid] = self._load(e["source"])
        return self._loaded[mid]

    def describe(self) -> list[dict]:
        from ..engine.inference import describe_text

        out = []
        for mid, e in self.entries.items():
            model = self.get(mid, e["command"])
            info = model.describe()
            card = pretrained.card_markdown(mid) if e["shipped"] else (
                f"# {mid}\n\nA local checkpoint: {e['source']}\n\n```\n{describe_text(info)}\n```\n")
            shipped = pretrained.manifest()[mid] if e["shipped"] else {}
            out.append({**{k: v for k, v in e.items() if k != "source"}, "task": info["task"],
                        "speakers": info.get("speakers"), "domains": info.get("domains"),
                        "summary": shipped.get("summary") or info.get("maps") or info.get("purpose"),
                        "score": shipped.get("score", ""), "steps": info.get("steps"), "card": card})
        return out


def local_name(path: Path, taken) -> str:
    """A short name for a checkpoint file: its run's folder for ``latest.pt`` / ``step_*.pt``
    (``exp/NAME/train/checkpoints/latest.pt`` -> ``NAME``), else the file's stem; unique."""
    name = path.stem
    if name == "latest" or name.startswith(("step_", "phase_end_")):
        run = next((p.name for p in path.parents if p.name not in ("checkpoints", "train", "")), "")
        name = run if name == "latest" else f"{run}:{name}"
    base, i = name or "checkpoint", 2
    while name in taken or not name:
        name, i = f"{base} ({i})", i + 1
    return name


# ------------------------------------------------------------------ results on disk
class Results:
    """Result folders under one temporary root; only the newest ``keep`` are kept."""

    def __init__(self, root: Path | None = None, keep: int = 20):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="vcgan-ui-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._order: list[str] = []
        self._lock = threading.Lock()

    def new(self) -> tuple[str, Path]:
        rid = uuid.uuid4().hex[:12]
        d = self.root / rid
        d.mkdir()
        with self._lock:
            self._order.append(rid)
            while len(self._order) > self.keep:
                shutil.rmtree(self.root / self._order.pop(0), ignore_errors=True)
        return rid, d

    def drop(self, rid: str) -> None:
        with self._lock:
            if rid in self._order:
                self._order.remove(rid)
        shutil.rmtree(self.root / rid, ignore_errors=True)

    def file(self, rid: str, name: str) -> Path | None:
        if not re.fullmatch(r"[0-9a-f]{12}", rid) or not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
            return None
        p = self.root / rid / name
        return p if p.is_file() else None

    def url(self, rid: str, name: str) -> str:
        return f"/results/{rid}/{name}"


# ------------------------------------------------------------------ helpers
def release_freed_memory() -> None:
    """Collect the reference cycles a request leaves (its figures among them) at once: left to
    the collector's own pace, a long-running server's resident memory creeps up request by
    request (measured: +118 MB over 20 conversions; with this, flat: docs/benchmarks.md)."""
    import gc

    gc.collect()


def safe_name(name: str | None, default: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(name or default).name).strip("._") or default
    return stem[:80]


async def read_upload(form, field: str, max_bytes: int, required: bool = True) -> tuple[str, bytes] | None:
    item = form.get(field)
    if not isinstance(item, UploadFile):
        if required:
            raise InputError(f"no file was sent ({field}): choose a file or record first")
        return None
    data = await item.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{item.filename}: larger than {max_bytes // 2**20} MB")
    if not data:
        raise InputError(f"{item.filename or field}: the file is empty")
    return safe_name(item.filename, field), data


def field(form, key: str, default=None, required: bool = False) -> str | None:
    v = form.get(key)
    if isinstance(v, UploadFile):
        raise InputError(f"{key}: expected a value, got a file")
    if v in (None, ""):
        if required:
            raise InputError(f"choose a {key}")
        return default
    return str(v)


def number(form, key: str, default: float, lo: float, hi: float) -> float:
    v = field(form, key)
    if v is None:
        return default
    try:
        x = float(v)
    except ValueError:
        raise InputError(f"{key}: a number from {lo:g} to {hi:g}, got {v!r}") from None
    if not np.isfinite(x) or not lo <= x <= hi:
        raise InputError(f"{key}: a number from {lo:g} to {hi:g}, got {v}")
    return x


def read_audio(path: Path, sample_rate: int, max_seconds: float) -> tuple[np.ndarray, list[str]]:
    """The upload as the model's input, with notes on what was changed (rate, channels)."""
    import soundfile as sf

    from ..features.audio import load_audio

    notes = []
    try:
        info = sf.info(str(path))
    except Exception:
        info = None  # load_audio names the problem
    if info is not None:
        if info.frames / max(info.samplerate, 1) > max_seconds:
            raise InputError(f"{path.name}: {info.frames / info.samplerate:.1f} s long; this page takes up to "
                             f"{max_seconds:g} s (`vcgan convert` / `vcgan postfilter` take any length)")
        if info.channels > 1:
            notes.append(f"mixed down from {info.channels} channels to mono")
        if info.samplerate != sample_rate:
            notes.append(f"resampled from {info.samplerate} Hz to the model's {sample_rate} Hz")
    x = load_audio(path, sample_rate)
    return x, notes


def spectrogram_png(panels: list[tuple[str, np.ndarray]], sample_rate: int, path: Path) -> None:
    """Log-magnitude spectrograms (5-ms hop) of waveforms, one row each."""
    import librosa

    from ..plotting import save_figure, spectrogram_figure

    hop = int(sample_rate * 0.005)
    specs = [(t, 20 * np.log10(np.abs(librosa.stft(np.asarray(y, np.float32), n_fft=1024, hop_length=hop)).T + 1e-5))
             for t, y in panels]
    top = max(float(s.max()) for _, s in specs)  # one colour scale for every panel: 80 dB under the loudest
    specs = [(t, np.clip(s, top - 80.0, top)) for t, s in specs]
    save_figure(spectrogram_figure(specs, sample_rate), path)


def gv_png(before: np.ndarray, after: np.ndarray, sample_rate: int, path: Path) -> dict:
    """Global variance of the mel-cepstra (c1..c24) before and after; returns the log-GV
    distance between them."""
    from ..metrics.mcd import analysis_for_metrics
    from ..metrics.oversmoothing import global_variance
    from ..plotting import _pyplot, save_figure

    gvs = [global_variance([analysis_for_metrics(y, sample_rate)[0]]) for y in (before, after)]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    dims = np.arange(1, len(gvs[0]))
    for gv, label in zip(gvs, ("before", "after")):
        ax.semilogy(dims, gv[1:], marker=".", label=label)
    ax.set_xlabel("mel-cepstral coefficient")
    ax.set_ylabel("global variance")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    return {"log_gv_change": float(np.sqrt(np.mean((np.log(gvs[1][1:]) - np.log(gvs[0][1:])) ** 2)))}


def image_png(x, path: Path, scale: int | None = None) -> None:
    """A (c, h, w) tensor in [-1, 1] as a PNG, enlarged (nearest) so small images are visible."""
    from PIL import Image

    from image_gans.data import to_uint8

    arr = to_uint8(x)
    img = Image.fromarray(arr)
    if scale is None:
        scale = max(1, 256 // max(img.size))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    img.save(path)


# ------------------------------------------------------------------ the app
def create_app(checkpoints=(), max_seconds: float = 60.0, max_upload_mb: int = 50, keep: int = 20,
               results_root=None) -> Starlette:
    models = Models(checkpoints)
    results = Results(results_root, keep)
    lock = threading.Lock()  # one model application at a time: they use every core
    max_bytes = int(max_upload_mb * 2**20)

    async def run(fn, *args):
        def locked():
            with lock:
                try:
                    return fn(*args)
                finally:
                    release_freed_memory()
        return await run_in_threadpool(locked)

    def handler(work, files: int = 2):
        """An endpoint: ``work(form) -> dict`` in a worker thread; errors become messages. A
        request larger than ``files`` uploads of the size limit is refused before it is read."""
        async def endpoint(request: Request):
            t0 = time.perf_counter()
            size = request.headers.get("content-length")
            if size and size.isdigit() and int(size) > files * max_bytes + 2**20:
                return JSONResponse({"error": f"the upload is {int(size) / 2**20:.0f} MB; this page takes files of up "
                                              f"to {max_upload_mb} MB"}, status_code=413)
            try:
                form = await request.form(max_files=MAX_BATCH + 2, max_fields=50)
            except Exception as exc:
                return JSONResponse({"error": f"the request could not be read ({exc})"}, status_code=400)
            rid, folder = results.new()
            try:
                out = await work(form, rid, folder)
            except VcganError as exc:
                results.drop(rid)
                msg = str(exc).replace(str(folder / "in") + "/", "").replace(str(folder) + "/", "")
                return JSONResponse({"error": msg}, status_code=400)
            except Exception as exc:  # noqa: BLE001: the page shows it; the server keeps serving
                results.drop(rid)
                return JSONResponse({"error": f"internal error ({type(exc).__name__}: {exc})"}, status_code=500)
            finally:
                await form.close()
            out["seconds"] = round(time.perf_counter() - t0, 3)
            return JSONResponse(out)
        return endpoint

    async def save_upload(form, key, folder: Path, default: str, required=True) -> Path | None:
        got = await read_upload(form, key, max_bytes, required)
        if got is None:
            return None
        name, data = got
        path = folder / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return path

    # ---- voice conversion
    def conversion(form):
        """The model, direction and pitch shift a conversion request asks for."""
        model = models.get(field(form, "model", required=True), "convert")
        source, target = field(form, "source", required=True), field(form, "target", required=True)
        return model, source, target, number(form, "semitones", 0.0, -24, 24)

    def converter(model, source, target, semitones):
        """The conversion ``vcgan convert`` applies by default, with the pitch shift; checked."""
        conv = model.converter()
        if semitones:
            conv = conv.pitch_shifted(semitones)
        conv.check(source, target)
        return conv

    async def convert(form, rid, folder):
        from ..features.audio import save_audio

        model, source, target, semitones = conversion(form)
        path = await save_upload(form, "file", folder, "input.wav")

        def work():
            conv = converter(model, source, target, semitones)
            sr = model.features.sample_rate
            x, notes = read_audio(path, sr, max_seconds)
            t0 = time.perf_counter()
            y = conv.convert_array(x, source, target)
            took = time.perf_counter() - t0
            save_audio(folder / "before.wav", x, sr)
            name = f"{path.stem}_{source}_to_{target}.wav"
            save_audio(folder / name, y, sr)
            spectrogram_png([(f"before ({source})", x), (f"after ({source} -> {target}"
                             + (f", {semitones:+g} semitones" if semitones else "") + ")", y)], sr,
                            folder / "spectrogram.png")
            shutil.rmtree(folder / "in", ignore_errors=True)
            return {"before": results.url(rid, "before.wav"), "after": results.url(rid, name),
                    "plot": results.url(rid, "spectrogram.png"), "download": results.url(rid, name),
                    "notes": notes, "duration": round(len(x) / sr, 2), "convert_seconds": round(took, 3)}
        return await run(work)

    async def convert_batch(form, rid, folder):
        from ..features.audio import save_audio

        model, source, target, semitones = conversion(form)
        uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile)]
        if not uploads:
            raise InputError("no files were sent: choose a folder or several files")
        if len(uploads) > MAX_BATCH:
            raise InputError(f"{len(uploads)} files: this page converts up to {MAX_BATCH} at a time "
                             "(`vcgan convert` takes a folder of any size)")
        paths, seen = [], set()
        for u in uploads:
            name = safe_name(u.filename, "input.wav")
            if Path(name).suffix.lower() not in AUDIO_TYPES:
                continue  # a folder holds other files too
            data = await u.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise InputError(f"{u.filename}: larger than {max_bytes // 2**20} MB")
            stem = Path(name).stem
            while stem in seen:
                stem += "_"
            seen.add(stem)
            p = folder / "in" / f"{stem}{Path(name).suffix}"
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(data)
            paths.append(p)
        if not paths:
            raise InputError(f"none of the {len(uploads)} files is audio ({', '.join(AUDIO_TYPES)})")

        def work():
            conv = converter(model, source, target, semitones)
            sr = model.features.sample_rate
            done, skipped = [], []
            zpath = folder / f"converted_{source}_to_{target}.zip"
            with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
                for p in paths:
                    try:
                        x, _ = read_audio(p, sr, max_seconds)
                        y = conv.convert_array(x, source, target)
                    except VcganError as exc:
                        skipped.append(str(exc).replace(str(folder / "in") + "/", ""))
                        continue
                    finally:
                        p.unlink()
                    save_audio(folder / "tmp.wav", y, sr)
                    z.write(folder / "tmp.wav", f"{p.stem}.wav")
                    done.append(f"{p.stem}.wav")
            (folder / "tmp.wav").unlink(missing_ok=True)
            if not done:
                raise InputError("no file could be converted: " + "; ".join(skipped))
            return {"download": results.url(rid, zpath.name), "converted": done, "skipped": skipped}
        return await run(work)

    # ---- postfilter
    async def postfilter(form, rid, folder):
        from ..features.audio import save_audio

        model = models.get(field(form, "model", required=True), "postfilter")
        path = await save_upload(form, "file", folder, "input.wav")

        def work():
            sr = model.sample_rate
            x, notes = read_audio(path, sr, max_seconds)
            t0 = time.perf_counter()
            y = model.apply(path)
            took = time.perf_counter() - t0
            save_audio(folder / "before.wav", x, sr)
            name = f"{path.stem}_postfiltered.wav"
            save_audio(folder / name, y, sr)
            spectrogram_png([("before (synthetic)", x), ("after (postfiltered)", y)], sr, folder / "spectrogram.png")
            gv = gv_png(x, y, sr, folder / "gv.png")
            shutil.rmtree(folder / "in", ignore_errors=True)
            return {"before": results.url(rid, "before.wav"), "after": results.url(rid, name),
                    "plot": results.url(rid, "spectrogram.png"), "gv_plot": results.url(rid, "gv.png"),
                    "download": results.url(rid, name), "notes": notes, "duration": round(len(x) / sr, 2),
                    "convert_seconds": round(took, 3), **gv}
        return await run(work)

    # ---- images
    def image_result(rid, folder, before, after, took) -> dict:
        """Before and after enlarged for the page, the result at its own size to download."""
        image_png(before, folder / "before.png")
        image_png(after, folder / "after.png")
        image_png(after, folder / "result.png", scale=1)
        shutil.rmtree(folder / "in", ignore_errors=True)
        return {"before": results.url(rid, "before.png"), "after": results.url(rid, "after.png"),
                "download": results.url(rid, "result.png"), "convert_seconds": round(took, 3)}

    async def translate(form, rid, folder):
        model = models.get(field(form, "model", required=True), "translate")
        target = field(form, "target")
        path = await save_upload(form, "file", folder, "input.png")

        def work():
            x = model.read(path)[None]
            t0 = time.perf_counter()
            y = model.apply(x, target)
            took = time.perf_counter() - t0
            return image_result(rid, folder, x[0], y[0], took)
        return await run(work)

    async def sample(form, rid, folder):
        model = models.get(field(form, "model", required=True), "sample")
        n = int(number(form, "n", 16, 1, 64))
        seed = int(number(form, "seed", 0, 0, 2**31 - 1))
        psi = field(form, "psi")
        psi = None if psi is None else number(form, "psi", 1.0, 0.0, 1.0)

        def work():
            import torch

            from image_gans.grid import save_grid

            t0 = time.perf_counter()
            y = model.apply(n=n, seed=seed, psi=psi)
            took = time.perf_counter() - t0
            cols = int(np.ceil(np.sqrt(n)))
            rows = [y[i:i + cols] for i in range(0, n, cols)]
            if len(rows) > 1 and len(rows[-1]) < cols:
                pad = rows[-1].new_full((cols - len(rows[-1]), *rows[-1].shape[1:]), -1.0)
                rows[-1] = torch.cat([rows[-1], pad])
            save_grid(folder / "samples.png", rows)
            return {"after": results.url(rid, "samples.png"), "download": results.url(rid, "samples.png"),
                    "convert_seconds": round(took, 3)}
        return await run(work)

    async def complete(form, rid, folder):
        import torch

        model = models.get(field(form, "model", required=True), "complete")
        blend = field(form, "blend", "none")
        if blend not in ("none", "poisson"):
            raise InputError(f"blend: none or poisson, got {blend!r}")
        path = await save_upload(form, "file", folder, "input.png")
        mpath = await save_upload(form, "mask", folder, "mask.png")

        def work():
            from PIL import Image

            from image_gans.data import to_tensor

            x = to_tensor(model.read(path))[None]
            h, w = x.shape[-2:]
            try:
                m = Image.open(mpath).convert("L").resize((w, h), Image.NEAREST)
            except Exception as exc:
                raise InputError(f"{mpath.name}: not a readable mask image ({exc})") from None
            mask = torch.from_numpy((np.asarray(m) > 127).astype(np.float32))[None, None]
            if not mask.any():
                raise InputError("the mask is empty: paint the holes to fill")
            t0 = time.perf_counter()
            y = model.apply(x, mask, blend=blend)
            took = time.perf_counter() - t0
            return image_result(rid, folder, x[0] * (1 - mask[0]) + mask[0], y[0], took)
        return await run(work)

    # ---- pages and files
    async def index(request):
        return HTMLResponse((STATIC / "index.html").read_text())

    async def models_endpoint(request):
        try:
            listed = await run(models.describe)
        except VcganError as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
        return JSONResponse({"models": listed, "max_seconds": max_seconds, "max_upload_mb": max_upload_mb})

    async def result_file(request):
        p = results.file(request.path_params["rid"], request.path_params["name"])
        if p is None:
            return JSONResponse({"error": "no such result (results are kept for the last "
                                          f"{results.keep} requests)"}, status_code=404)
        return FileResponse(p, filename=p.name if request.query_params.get("download") else None)

    async def not_found(request, exc):
        return JSONResponse({"error": f"no page {request.url.path}"}, status_code=404)

    async def server_error(request, exc):
        return JSONResponse({"error": f"internal error ({type(exc).__name__}: {exc})"}, status_code=500)

    routes = [
        Route("/", index),
        Route("/api/models", models_endpoint),
        Route("/api/convert", handler(convert), methods=["POST"]),
        Route("/api/convert-batch", handler(convert_batch, files=MAX_BATCH), methods=["POST"]),
        Route("/api/postfilter", handler(postfilter), methods=["POST"]),
        Route("/api/translate", handler(translate), methods=["POST"]),
        Route("/api/sample", handler(sample), methods=["POST"]),
        Route("/api/complete", handler(complete), methods=["POST"]),
        Route("/results/{rid}/{name}", result_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 500: server_error})
    app.state.models, app.state.results = models, results
    return app
