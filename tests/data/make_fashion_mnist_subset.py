"""Write tests/data/fashion-mnist: the first 20 training and 10 test images of every class
of Debian's dataset-fashion-mnist, in its own IDX format (gzip, reproducible bytes).

    python tests/data/make_fashion_mnist_subset.py
"""
import gzip
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from image_gans.data import load_fashion_mnist  # noqa: E402

PER_CLASS = {"train": 20, "test": 10}


def write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def main():
    out = HERE / "fashion-mnist"
    out.mkdir(exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = load_fashion_mnist(split)
        keep = np.concatenate([np.flatnonzero(labels == c)[: PER_CLASS[split]] for c in range(10)])
        keep.sort()
        write_idx(out / f"{prefix}-images-idx3-ubyte.gz", images[keep])
        write_idx(out / f"{prefix}-labels-idx1-ubyte.gz", labels[keep])


if __name__ == "__main__":
    main()
