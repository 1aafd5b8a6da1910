"""A trained image translator as ``vcgan translate`` and ``vcgan evaluate-images`` apply it.

Each image family subclasses :class:`Translator`: how its networks load
(:meth:`Translator.networks`), how a batch is translated to a target domain
(:meth:`Translator.translate_batch`) and how it is scored on its test split
(:meth:`Translator.score_test`); reading, writing and reporting are shared.
"""
from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import torch

from vcgan.engine.checkpoint import inference_state, weights_mismatch
from vcgan.engine.inference import InferenceModel, checkpoint_family
from vcgan.errors import CheckpointError, VcganError
from vcgan.fileio import check_distinct_outputs, map_files

from .data import list_images, read_image, to_tensor, write_image

IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg")


class Translator(InferenceModel):
    """A trained image generator: ``translate(x, target)`` on (n, c, h, w) batches in [-1, 1].
    ``untrained=True``: the same networks at their initialisation (a baseline)."""

    purpose = "image translation"

    def __init__(self, path, checkpoint: dict, family, device: str = "cpu", untrained: bool = False):
        super().__init__(path, checkpoint, family)
        state = None if untrained else inference_state(checkpoint)
        if untrained:
            torch.manual_seed(int(self.config.get("train", {}).get("seed", 0)))
        try:
            self.nets = self.networks(state)
        except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
            raise weights_mismatch(path, family.name, err) from None
        except KeyError as err:
            raise CheckpointError(f"{path}: {family.name} checkpoint without {err} in its metadata") from None
        self.device = torch.device(device)
        for n in self.nets.values():
            n.to(self.device)
        self._images: dict = {}  # split -> domain_images(split), read once for the classifier and the scores

    @classmethod
    def loader(cls):
        """``Family.load`` for this translator class."""
        return lambda path, checkpoint, **options: cls(path, checkpoint, checkpoint_family(path, checkpoint), **options)

    # ------------------------------------------------------------ per family
    @abstractmethod
    def networks(self, state) -> dict:
        """The family's generators, with ``state``'s weights (None: as initialised)."""

    @abstractmethod
    def translate_batch(self, x: torch.Tensor, target: str | None) -> torch.Tensor:
        """One batch on the model's device translated to ``target``."""

    def check_target(self, target: str | None) -> None:
        """A clear error for a target this model cannot translate to."""

    @abstractmethod
    def score_test(self, report: dict, classifier, untrained: "Translator", limit, out_dir: Path) -> None:
        """Scores of the test split beside the baselines into ``report``; its grid into ``out_dir``."""

    @abstractmethod
    def domain_images(self, split: str) -> dict:
        """The dataset's images of ``split`` per domain (name -> uint8 array): what the
        measure classifier of a dataset other than Fashion-MNIST learns to tell apart."""

    def images(self, split: str) -> dict:
        """:meth:`domain_images`, read once per split."""
        if split not in self._images:
            self._images[split] = self.domain_images(split)
        return self._images[split]

    def measure_classifier(self, retrain: bool = False, progress: bool = True):
        """(classifier, meta) the image measures use: for Fashion-MNIST its cached ten-class
        classifier; for any other dataset one trained on this dataset's own training domains."""
        from .metrics import domain_classifier, load_classifier

        data = self.config["data"]
        if data["layout"] == "fashion_mnist":
            return load_classifier(root=data["root"], retrain=retrain, progress=progress)
        train, test = self.images("train"), self.images("test")
        return domain_classifier(train, test, f"{data['layout']} dataset {data['root']}", retrain, progress)

    # ------------------------------------------------------------ shared
    @property
    def image(self) -> dict:
        return self.meta["image"]

    @property
    def domains(self) -> list[str]:
        return list(self.meta.get("domains") or [])

    def details(self) -> dict:
        img = self.image
        return {"domains": self.domains or None,
                "image": f"{img['height']}x{img['width']}, {img.get('in_channels', img['channels'])} channel(s) in, "
                         f"{img['channels']} out"}

    @torch.no_grad()
    def translate(self, x: torch.Tensor, target: str | None = None, batch: int = 64) -> torch.Tensor:
        self.check_target(target)
        out = [self.translate_batch(x[i:i + batch].to(self.device), target) for i in range(0, len(x), batch)]
        return torch.cat(out).cpu()

    def read(self, path) -> torch.Tensor:
        """An image file as the model's input (its size and channels)."""
        img = self.image
        arr = read_image(path, (img["height"], img["width"]), img.get("in_channels", img["channels"]))
        return to_tensor(arr)

    def apply(self, x: torch.Tensor, target: str | None = None) -> torch.Tensor:
        return self.translate(x, target)

    def apply_paths(self, inputs, out, target: str | None = None, skip_bad: bool = False,
                    progress: bool = True, batch: int = 64) -> list[Path]:
        """Translate an image file or every image of a folder into ``out`` (a folder, or an image
        path for one input). Every input is read and checked before anything is written, then
        translated ``batch`` images at a time (memory bounded by the batch, not the folder); with
        ``skip_bad`` an unreadable image is reported and skipped (``self.skipped``)."""
        inputs, out = Path(inputs), Path(out)
        if not inputs.is_dir() and not inputs.is_file():
            raise VcganError(f"{inputs}: no such file or folder")
        self.check_target(target)
        files = list_images(inputs) if inputs.is_dir() else [inputs]
        one_file = not inputs.is_dir() and out.suffix.lower() in IMAGE_OUTPUTS
        targets = [out] if one_file else [out / (p.stem + ".png") for p in files]
        check_distinct_outputs(files, targets)
        good, skipped = map_files(files, self.read, skip_bad=skip_bad, desc="check", unit="image", progress=progress)
        self.skipped = skipped
        good = set(good)
        kept = [(p, t) for p, t in zip(files, targets) if p in good]
        if not kept:
            raise VcganError(f"{inputs}: no readable image to translate")
        written = []
        for i in range(0, len(kept), batch):
            part = kept[i:i + batch]
            y = self.translate(torch.stack([self.read(p) for p, _ in part]), target)
            written += [write_image(t, yi) for (_, t), yi in zip(part, y)]
        return written

    def evaluate(self, out_dir, classifier=None, max_images: int | None = None) -> dict:
        """Scores on the checkpoint's test split beside its baselines; writes ``scores.json``,
        ``scores.md`` and ``grid.png`` under ``out_dir``. ``classifier``: (net, meta), or a
        callable returning them, for a Fashion-MNIST model (default: :meth:`measure_classifier`)."""
        from .evaluate import write_scores

        data = self.config["data"]
        if classifier is not None and data["layout"] != "fashion_mnist":
            raise VcganError(f"--classifier/--fashion-mnist: a Fashion-MNIST classifier measures Fashion-MNIST only; "
                             f"this model was trained on the {data['layout']} dataset {data['root']} (its own "
                             "classifier is trained on its training domains on first use)")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        untrained = type(self)(self.path, self.checkpoint, self.family, device=str(self.device), untrained=True)
        if callable(classifier):  # loaded only once it is known to apply
            classifier = classifier()
        cls, cls_meta = classifier if classifier is not None else self.measure_classifier()
        report = {"checkpoint": str(self.path), "family": self.family.name, "task": self.task,
                  "step": self.checkpoint.get("step"), "classifier_test_accuracy": cls_meta.get("test_accuracy"),
                  "classifier_trained_on": cls_meta.get("trained_on"), "systems": {}}
        limit = (lambda a: a[:max_images]) if max_images else (lambda a: a)
        self.score_test(report, cls, untrained, limit, out_dir)
        write_scores(report, out_dir)
        return report
