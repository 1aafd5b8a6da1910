"""The Trainer: everything about optimisation that is not the model."""
from __future__ import annotations

import functools
import math
import os
import shutil
import random
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..errors import CheckpointError, ConfigError, VcganError
from ..fileio import atomic_write_text
from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import dump_yaml
from .logger import RunLogger
from .model import GANModel
from .objectives.toolkit import detach
from .optim import EMA, GROUP_DEFAULTS, GROUP_TYPES, OptimizerGroup
from .precision import AUTOCAST_DTYPES, hardware_summary, resolve_precision
from .schedule import Step, lr_factor

TRAIN_DEFAULTS = {
    "steps": 20000,  # optimizer updates (iterations), not epochs
    "max_minutes": None,  # training-time budget (summed over resumes): stop there with a checkpoint;
    # LR decay and percentage schedules then follow max(step / steps, elapsed / max_minutes)
    "g_lr": 2.0e-4,  # learning rate of the optimizer group g (the generators)
    "d_lr": 1.0e-4,  # ... of the group d (the discriminators)
    "g_betas": [0.5, 0.999],
    "d_betas": [0.5, 0.999],
    "g_start": None,  # step (or share of the run, "5%") of the first generator update; before it only D learns
    "optim": {"g": dict(GROUP_DEFAULTS), "d": dict(GROUP_DEFAULTS)},  # per optimizer group, see engine.optim
    "update_order": ["g", "d"],  # groups due in a step update in this order
    "ema_decay": None,  # keep an exponential moving average of the generators (e.g. 0.999); samples and
    # inference then use it
    "ema_start": None,  # step (or "N%") from which the average lags; before it, it copies the generators
    "lr_decay_start": None,  # constant LR until this step's share of the run, then linear to 0; None: no decay
    "precision": "auto",  # auto (bf16 where the hardware computes it natively, else fp32) | fp32 | bf16 | fp16 (CUDA)
    "device": "auto",  # auto | cpu | cuda | cuda:N
    "seed": 0,
    "log_every": 50,
    "checkpoint_every": 1000,
    "sample_every": 0,  # 0: only at the end
    "keep_checkpoints": 3,
    "num_threads": None,
    "progress": True,
}
# types of train keys whose default is null
TRAIN_TYPES = {"train.max_minutes": (int, float), "train.lr_decay_start": int, "train.num_threads": int,
               "train.g_start": (int, str), "train.ema_decay": float, "train.ema_start": (int, str), **GROUP_TYPES}


CHECKPOINT_FORMAT = "vcgan-checkpoint-2"
GROUP_NAMES = {"g": "generator", "d": "discriminator"}


class TrainingDiverged(VcganError):
    """A loss became NaN or Inf."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise VcganError(f"train.device={name!r} but CUDA is not available")
        if dev.index is None and "LOCAL_RANK" in os.environ:  # one GPU per torchrun process
            dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(dev)
    return dev


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]), "python_pos": random.getstate()[2]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _changed(theirs, mine) -> str:
    """``theirs`` vs ``mine``; for dicts only the keys whose values differ."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        keys = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
        return ", ".join(f"{k}={theirs.get(k)!r} (config {mine.get(k)!r})" for k in keys)
    return f"{theirs!r} (config {mine!r})"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The commit of the checkout this code runs from (``+local changes`` where files differ from
    it), or the installed version outside a checkout: recorded with every checkpoint."""
    import subprocess

    from .. import __version__

    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"vcgan {__version__}"
    return f"{head}{' +local changes' if dirty else ''}" if head else f"vcgan {__version__}"


class Trainer:
    """Trains a :class:`GANModel`: optimizer groups, schedules, devices, precision,
    data parallelism, EMA, checkpoints and logging; the model only computes losses.

    ``data`` provides ``next_batch() -> dict[str, Tensor]`` and
    ``state_dict()/load_state_dict()`` so that resuming continues the exact
    sample stream. Checkpoints hold the model (pools included), each group's
    optimizer and scaler, the EMA, step, training time used, RNG states,
    data-sampler state, config and model metadata.

    The learning rates follow the run's progress, ``max(step / steps, elapsed /
    max_minutes)``: a run that stops at its time budget has decayed as one that
    reaches its step count. ``clock`` (seconds, monotonic) can be replaced in tests.
    """

    def __init__(self, model: GANModel, data, cfg: dict, out_dir, full_config: dict | None = None,
                 clock=time.monotonic):
        self.cfg = {**TRAIN_DEFAULTS, **cfg}
        self.out_dir = Path(out_dir)
        self.full_config = full_config or {"train": self.cfg}
        self.device = resolve_device(self.cfg["device"])
        self.rank, self.world = distributed.init_from_env(self.device)
        if self.cfg["num_threads"]:
            torch.set_num_threads(int(self.cfg["num_threads"]))
        seed = int(self.cfg["seed"])
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        self.model = model.to(self.device)
        distributed.broadcast_parameters(self.model)
        self.data = data
        c = self.cfg
        self.precision = resolve_precision(c["precision"], self.device)
        self.hardware = hardware_summary(self.device)
        self.autocast_dtype = AUTOCAST_DTYPES[self.precision]
        self.groups = self._build_groups()
        self.ema = EMA(self.model.generators, c["ema_decay"], c["ema_start"]) if c["ema_decay"] else None
        # decay start as a share of the run, so that a time-bounded run decays on its clock too
        self.decay_start = 1.0 if c["lr_decay_start"] is None else min(1.0, c["lr_decay_start"] / c["steps"])
        self.step = 0
        self.clock = clock
        self.elapsed = 0.0  # seconds of training so far, over all runs of this out_dir
        self._clock_base = None  # (clock reading, elapsed) when this run's clock started
        self._phase = None  # each group's update period at the last step (a change ends a phase)
        self.logger = RunLogger(self.out_dir, enabled=self.is_main)
        self._apply_lr()

    def _build_groups(self) -> dict[str, OptimizerGroup]:
        c, declared = self.cfg, self.model.param_groups()
        order = list(c["update_order"])
        if sorted(order) != sorted(declared):
            raise ConfigError(f"config key 'train.update_order': {order} must name each optimizer group of "
                              f"{type(self.model).__name__} once: {sorted(declared)}")
        settings = c["optim"]
        missing = [g for g in order if g not in settings]
        if missing:
            raise ConfigError(f"config key 'train.optim': no settings for the group(s) {missing}")
        groups, owner = {}, {}
        for name in order:
            gc = {**GROUP_DEFAULTS, **settings[name]}
            lr = gc["lr"] if gc["lr"] is not None else c.get(f"{name}_lr")
            if lr is None:
                raise ConfigError(f"config key 'train.optim.{name}.lr': the group {name!r} needs a learning rate")
            betas = gc["betas"] if gc["betas"] is not None else c.get(f"{name}_betas")
            groups[name] = OptimizerGroup(name, self.model, declared[name], gc, lr=lr, betas=betas,
                                          device=self.device, fp16=self.precision == "fp16",
                                          start=c["g_start"] if name == "g" else None)
            for p in groups[name].params:
                if id(p) in owner:
                    raise ConfigError(f"optimizer groups {owner[id(p)]!r} and {name!r} share weights")
                owner[id(p)] = name
        loose = [n for n, p in self.model.named_parameters() if id(p) not in owner and p.requires_grad]
        if loose:
            raise ConfigError(f"weights in no optimizer group: {loose[:3]}{' ...' if len(loose) > 3 else ''}")
        return groups

    # ------------------------------------------------------------- progress
    def _tick(self) -> float:
        """Update ``elapsed`` from the clock (the same value on every rank) and return it."""
        if self._clock_base is not None:
            t0, e0 = self._clock_base
            self.elapsed = distributed.max_over_ranks(e0 + self.clock() - t0, self.device)
        return self.elapsed

    def progress(self) -> float:
        """Share of the run done: ``max(step / steps, elapsed / max_minutes)``, in 0..1."""
        c = self.cfg
        p = self.step / c["steps"]
        if c["max_minutes"]:
            p = max(p, self.elapsed / (60.0 * c["max_minutes"]))
        return min(1.0, p)

    def lr_factor(self) -> float:
        return lr_factor(self.progress(), self.decay_start)

    def _apply_lr(self) -> None:
        f = self.lr_factor()
        for group in self.groups.values():
            group.set_lr(f)

    def runtime_info(self) -> dict:
        """How this run computes: device, precision as resolved, hardware."""
        return {"device": str(self.device), "precision": self.precision, "precision_requested": self.cfg["precision"],
                "hardware": self.hardware, "torch": str(torch.__version__), "threads": torch.get_num_threads(),
                "world_size": self.world, "code": code_version()}

    # ----------------------------------------------------------------- state
    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def state_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "elapsed": self.elapsed,
            "model": self.model.state_dict(),
            "optim": {name: g.state_dict() for name, g in self.groups.items()},
            "ema": self.ema.state_dict() if self.ema else None,
            # one entry per data-parallel rank, so that each resumes its own sample stream
            "rng": distributed.gather_objects(_rng_state()),
            "data": distributed.gather_objects(self.data.state_dict()),
            "config": self.full_config,
            "meta": self.model.metadata(),
            "runtime": self.runtime_info(),
        }

    def load_state_dict(self, state: dict) -> None:
        conflicts = self.model.resume_conflicts(state.get("meta"))
        if conflicts:
            raise CheckpointError(
                f"the checkpoint was trained with other {', '.join(conflicts)} than this config ("
                + "; ".join(f"{k}: checkpoint {_changed(theirs, mine)}" for k, (theirs, mine) in conflicts.items())
                + "); train into another out_dir or pass --resume no"
            )
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise CheckpointError(
                "the checkpoint's networks do not match this config's model (different task or sizes); "
                f"train into another out_dir or pass --resume no\n{str(exc).splitlines()[0]}"
            ) from None
        missing = [g for g in self.groups if g not in state["optim"]]
        if missing:
            raise CheckpointError(f"the checkpoint has no optimizer state for the group(s) {missing}; "
                                  "train into another out_dir or pass --resume no")
        try:
            for name, group in self.groups.items():
                group.load_state_dict(state["optim"][name])
        except ValueError as exc:
            raise CheckpointError(f"the checkpoint's optimizer state does not fit train.optim ({exc}); "
                                  "train into another out_dir or pass --resume no") from None
        if self.ema is not None:
            if state.get("ema") is None:
                self.ema = EMA(self.model.generators, self.cfg["ema_decay"], self.cfg["ema_start"])  # starts here
            else:
                self.ema.load_state_dict(state["ema"])
        _set_rng_state(state["rng"][self.rank % len(state["rng"])])
        self.data.load_state_dict(state["data"][self.rank % len(state["data"])])
        self.step = int(state["step"])
        self.elapsed = float(state.get("elapsed", 0.0))  # older checkpoints: progress by steps only
        self._apply_lr()

    def _mark_phase(self, step) -> None:
        """Where a group's update period changes (a phase of ``train.optim.*.every`` ends, e.g.
        GLCIC's completion-network-only phase), keep the checkpoint of the last step before it as
        ``checkpoints/phase_end_<step>.pt``; old-checkpoint cleanup leaves these alone."""
        phase = tuple(int(g.every(step)) for g in self.groups.values())
        ended = self._phase is not None and phase != self._phase
        self._phase = phase
        if ended:
            path = self.save()
            if path is not None:
                tmp = self.checkpoint_dir / ".phase_end.pt.tmp"
                shutil.copyfile(path, tmp)
                os.replace(tmp, self.checkpoint_dir / f"phase_end_{self.step:08d}.pt")

    def save(self) -> Path | None:
        """Write ``step_N.pt`` and ``latest.pt`` (call on every rank; rank 0 writes)."""
        state = self.state_dict()  # gathers per-rank states: every rank takes part
        if not self.is_main:
            return None
        path = save_checkpoint(state, self.checkpoint_dir / f"step_{self.step:08d}.pt")
        tmp = self.checkpoint_dir / ".latest.pt.tmp"
        shutil.copyfile(path, tmp)
        os.replace(tmp, self.checkpoint_dir / "latest.pt")
        old = sorted(self.checkpoint_dir.glob("step_*.pt"))[: -max(1, int(self.cfg["keep_checkpoints"]))]
        for p in old:
            p.unlink(missing_ok=True)
        return path

    def resume(self, path=None) -> bool:
        """Load ``path`` (or ``checkpoints/latest.pt`` if present). Returns whether it resumed."""
        path = Path(path) if path else self.checkpoint_dir / "latest.pt"
        if not path.is_file():
            return False
        state = load_checkpoint(path, map_location=self.device)
        lacking = [k for k in ("model", "optim", "rng", "data", "step") if k not in state]
        if lacking:
            raise CheckpointError(f"{path}: cannot resume training from it: it holds no {', '.join(lacking)} "
                                  "(a checkpoint for inference only); train into another out_dir or pass --resume no")
        ranks = len(state["data"])
        if ranks != self.world:
            raise CheckpointError(
                f"{path}: written by a run of {ranks} process(es), resumed by {self.world}: each process resumes "
                f"its own sample stream, so the streams would repeat or be lost; resume with {ranks} process(es) "
                "(torchrun --nproc_per_node), or train into another out_dir")
        self.load_state_dict(state)
        return True

    # ------------------------------------------------------------------ step
    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _check_finite(self, losses: dict, group: str) -> None:
        bad = [(n, v.item()) for n, v in losses.items() if not torch.isfinite(v.detach()).all()]
        if distributed.any_rank(bool(bad), self.device):  # every rank stops together
            which = GROUP_NAMES.get(group, f"group {group!r}")
            where = f"{which} loss '{bad[0][0]}' became {bad[0][1]}" if bad else f"a {which} loss diverged on another rank"
            raise TrainingDiverged(
                f"{where} at step {self.step}; lower the learning rate, use precision=fp32, or check the data for NaNs"
            )

    def _freeze_all_but(self, group: OptimizerGroup | None) -> None:
        """Only ``group``'s weights get gradients (None: every group's)."""
        mine = {id(p) for p in group.params} if group else None
        for g in self.groups.values():
            for p in g.params:
                p.requires_grad_(mine is None or id(p) in mine)

    def train_step(self, batch: dict) -> dict[str, float]:
        """The due optimizer groups' updates, in ``update_order``; returns logged scalars."""
        model = self.model
        model.train()
        self._tick()
        self._apply_lr()
        step = Step(self.step, self.progress())  # schedules may be given as shares of the run
        batch = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        self._mark_phase(step)
        due = [g for g in self.groups.values() if g.due(step)]
        out, logged = {}, {}
        if due:
            with self._autocast(), torch.set_grad_enabled(any(g.generates for g in due)):
                out = model.generate(batch, step)
            detached = detach(out)
            try:
                for group in due:
                    self._freeze_all_but(group)  # e.g. no D weight gradients in the G update
                    with self._autocast():
                        losses = model.losses(group.name, batch, out if group.generates else detached, step)
                    self._check_finite(losses, group.name)
                    group.update(losses["total"], distributed.average_gradients)
                    logged.update({f"{group.name}/{k}": float(v.detach()) for k, v in losses.items()})
            finally:
                self._freeze_all_but(None)
            if self.ema is not None and any(g.generates for g in due):
                self.ema.update(step)
        self.step += 1
        logged.update({f"lr/{name}": g.lr for name, g in self.groups.items()})
        logged["progress"] = step.progress
        return logged

    # ---------------------------------------------------------------- media
    def _log_samples(self) -> None:
        self.model.eval()
        with torch.no_grad(), (self.ema.swapped() if self.ema else nullcontext()):
            items = self.model.samples(self.step)
        self.logger.media(self.step, items)

    def plot_history(self, path=None) -> Path | None:
        """Loss curves from ``train_log.jsonl`` as a PNG."""
        return self.logger.plot_curves(path)

    # ------------------------------------------------------------------- fit
    def fit(self, resume=None) -> dict:
        """Train until ``steps`` or the ``max_minutes`` budget; returns a summary dict."""
        c = self.cfg
        resumed = self.resume(resume) if resume is not False else False
        if resume not in (None, False) and not resumed:
            raise VcganError(f"{resume}: checkpoint to resume from not found")
        how = (f"precision {self.precision}"
               + (f" (auto: {self.hardware})" if c["precision"] == "auto" else f" ({self.hardware})"))
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out_dir / "config.yaml",
                              f"# resolved on this machine: {how}, device {self.device}\n" + dump_yaml(self.full_config))
            tqdm.write(f"training on {self.device}: {how}"
                       + (f"; resumed at step {self.step}, {self.elapsed / 60:.1f} min trained" if resumed else ""))
        budget = 60.0 * c["max_minutes"] if c["max_minutes"] else math.inf
        start_step, t0 = self.step, self.clock()
        self._clock_base = (t0, self.elapsed)
        bar = tqdm(total=c["steps"], initial=self.step, desc="train", unit="step",
                   disable=not (c["progress"] and self.is_main), dynamic_ncols=True)
        acc: dict[str, list] = {}  # key -> [sum, count]: a key may be missing on some steps
        n_acc = 0
        stopped_early = self.step < c["steps"] and self.elapsed >= budget
        try:
            while self.step < c["steps"] and not stopped_early:
                scalars = self.train_step(self.data.next_batch())
                for k, v in scalars.items():
                    a = acc.setdefault(k, [0.0, 0])
                    a[0] += v
                    a[1] += 1
                n_acc += 1
                bar.update(1)
                if self.step % c["log_every"] == 0 or self.step == c["steps"]:
                    mean = {k: total / n for k, (total, n) in acc.items()}
                    mean["time/sec_per_step"] = (self.clock() - t0) / max(1, self.step - start_step)
                    self.logger.scalars(self.step, mean)
                    bar.set_postfix({k.split("/")[-1] if k.startswith("g/") else k: f"{v:.3g}"
                                     for k, v in mean.items() if k in ("g/total", "d/total", "g/cycle")})
                    acc, n_acc = {}, 0
                stopped_early = self._tick() >= budget and self.step < c["steps"]
                if c["checkpoint_every"] and self.step % c["checkpoint_every"] == 0:
                    self.save()
                if self.is_main and c["sample_every"] and self.step % c["sample_every"] == 0:
                    self._log_samples()
        finally:
            bar.close()
        if n_acc:  # steps since the last log line (a run stopped by its time budget)
            self.logger.scalars(self.step, {**{k: total / n for k, (total, n) in acc.items()},
                                            "time/sec_per_step": (self.clock() - t0) / max(1, self.step - start_step)})
        self._tick()
        self._clock_base = None
        self._apply_lr()  # the LR the run ends with (0 where it decayed fully)
        self.save()
        if self.is_main:
            self._log_samples()
            self.plot_history()
            self.logger.close()
        seconds = self.clock() - t0
        return {
            "steps": self.step,
            "steps_this_run": self.step - start_step,
            "seconds": seconds,
            "sec_per_step": seconds / max(1, self.step - start_step),
            "minutes_trained": self.elapsed / 60.0,
            "progress": self.progress(),
            "final_lr_factor": self.lr_factor(),
            "stopped_by_time_limit": stopped_early,
            "precision": self.precision,
            "hardware": self.hardware,
            "checkpoint": str(self.checkpoint_dir / "latest.pt"),
            "training_curves": str(self.out_dir / "training_curves.png")
            if (self.out_dir / "training_curves.png").is_file() else None,
        }
