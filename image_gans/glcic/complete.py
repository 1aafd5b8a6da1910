"""A trained completion network as ``vcgan complete`` and ``vcgan evaluate-completion`` apply it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vcgan.engine.checkpoint import inference_state, weights_mismatch
from vcgan.engine.inference import InferenceModel
from vcgan.errors import CheckpointError, VcganError

from ..data import list_images, read_image, to_tensor, to_uint8, write_image
from ..networks import pad_to_multiple
from .masks import read_mask

BLENDS = ("none", "poisson")


FILL_WORDS = {
    "harmonic": "harmonic interpolation of the hole's surroundings, corrected by the network",
    "biharmonic": "biharmonic interpolation of the hole's surroundings, corrected by the network",
    "biharmonic+harmonic": "biharmonic interpolation of the hole's surroundings, corrected by the network, "
                           "which also sees the harmonic one",
}


class Completer(InferenceModel):
    """Fills holes: ``complete(x, mask)`` with ``x`` (n, c, h, w) in [-1, 1] and ``mask``
    (n, 1, h, w), 1 inside the holes; pixels outside the holes come back unchanged. Any size:
    the network is convolutional (inputs are padded to a multiple of 4 and cropped back).
    ``untrained=True``: the network as initialised (a baseline)."""

    purpose = "image completion"

    def __init__(self, path, checkpoint: dict, family, device: str = "cpu", untrained: bool = False):
        super().__init__(path, checkpoint, family)
        from .family import Completion, LOSS_DEFAULTS

        try:
            image, model, fill = self.meta["image"], self.meta["model"], self.meta["fill"]
        except KeyError as err:
            raise CheckpointError(f"{path}: {family.name} checkpoint without {err} in its metadata") from None
        if untrained:
            torch.manual_seed(int(self.config.get("train", {}).get("seed", 0)))
        net = Completion(image, model, LOSS_DEFAULTS, fill)
        if not untrained:
            state = inference_state(checkpoint)
            try:
                net.load_state_dict({k: v for k, v in state.items() if not k.startswith("discriminators.")},
                                    strict=False)
                missing = [k for k in net.state_dict() if not k.startswith("discriminators.") and k not in state]
                if missing:
                    raise RuntimeError(f"missing keys {missing[:3]}")
            except RuntimeError as err:
                raise weights_mismatch(path, family.name, err) from None
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.image = image

    @property
    def channels(self) -> int:
        return int(self.image["channels"])

    def details(self) -> dict:
        s = self.image["size"]
        return {"completes": f"{self.channels}-channel images (trained on {s}x{s}, holes a quarter to a half of the "
                             "side); any size, any mask",
                "fill": FILL_WORDS.get(self.meta["model"].get("prefill", "mean"))
                or "the training mean " + ", ".join(f"{v:+.3f}" for v in self.meta["fill"])}

    @torch.no_grad()
    def complete(self, x: torch.Tensor, mask: torch.Tensor, batch: int = 64, raw: bool = False) -> torch.Tensor:
        """The composite: ``x`` outside the holes, the network's output inside (``raw``: the
        network's output everywhere, the guidance Poisson blending follows)."""
        if x.dim() != 4 or mask.dim() != 4 or mask.shape[1] != 1 or x.shape[-2:] != mask.shape[-2:]:
            raise VcganError(f"complete: images (n, c, h, w) and masks (n, 1, h, w) of the same size, got "
                             f"{tuple(x.shape)} and {tuple(mask.shape)}")
        if x.shape[1] != self.channels:
            raise VcganError(f"complete: this model completes {self.channels}-channel images, got {x.shape[1]}")
        mask = (mask > 0.5).to(x.dtype)
        h, w = x.shape[-2:]
        out = []
        for i in range(0, len(x), batch):
            xm, _ = pad_to_multiple(torch.cat([x[i:i + batch], mask[i:i + batch]], 1).to(self.device), 4, "replicate")
            out.append(self.net.complete(xm[:, :-1], xm[:, -1:])["out"][..., :h, :w].float().cpu())
        out = torch.cat(out)
        return out if raw else x * (1 - mask) + out * mask  # exactly the input outside the holes

    def apply(self, x: torch.Tensor, mask: torch.Tensor, blend: str = "none") -> torch.Tensor:
        if blend == "poisson":
            return poisson(self.complete(x, mask, raw=True), x, mask)
        return self.complete(x, mask)

    def read(self, path) -> np.ndarray:
        return read_image(path, None, self.channels)

    def apply_paths(self, inputs, mask_path, out, blend: str = "none", skip_bad: bool = False) -> list[Path]:
        """Each image of ``inputs`` (files or folders) completed where ``mask_path`` (resized to
        the image) is white; written to ``out`` (a folder, or a .png file for one input). Every
        input is read before anything is written."""
        from ..data import ImageDataError

        if blend not in BLENDS:
            raise VcganError(f"--blend: one of {', '.join(BLENDS)}, got {blend!r}")
        files = []
        for p in [Path(i) for i in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]:
            files += list_images(p) if p.is_dir() else [p]
        self.skipped, loaded, masks = [], [], {}
        for f in files:
            try:
                img = self.read(f)
            except ImageDataError as err:
                if not skip_bad:
                    raise
                self.skipped.append((f, str(err)))
                continue
            size = img.shape[:2]
            if size not in masks:  # a bad mask stops the run, --skip-bad or not
                masks[size] = read_mask(mask_path, size)
            loaded.append((f, img, masks[size]))
        out = Path(out)
        single = len(files) == 1 and out.suffix.lower() in (".png", ".jpg", ".jpeg")
        if not single and out.exists() and not out.is_dir():
            raise VcganError(f"{out}: exists and is not a folder")
        written = []
        for f, img, m in loaded:
            x, mt = to_tensor(img)[None], torch.from_numpy(m)[None, None]
            y = self.apply(x, mt, blend)[0]
            written.append(write_image(out if single else out / f"{f.stem}.png", y))
        return written


def poisson(y: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Poisson blending inside ``mask``: the gradients of the network's raw output ``y``, the
    values of ``x`` on the hole's boundary (per image); ``x`` itself outside the hole."""
    from .blend import poisson_blend

    out = []
    for yi, xi, mi in zip(y, x, mask):
        b = poisson_blend(yi.permute(1, 2, 0).numpy().astype(np.float64), xi.permute(1, 2, 0).numpy().astype(np.float64),
                          mi[0].numpy())
        out.append(torch.from_numpy(b).permute(2, 0, 1).float().clamp(-1, 1))
    return torch.stack(out)


def as_uint8(x: torch.Tensor) -> np.ndarray:
    return np.stack([to_uint8(xi) for xi in x])
