"""Short training runs that choose a recipe on the validation split, and the table of what each change gave.

Each sweep trains a few variants of one family's recipe for a few epochs with
`--select-every 1`, so every card holds its validation figure after every
epoch (`training.selection`); no test digit is touched. Runs go to
`OUT/SWEEP/VARIANT` and resume like any `kerasgen train` run (a variant whose
card exists is not trained again). The table goes to standard output, in
Markdown, for `docs/recipes.md`.

    python scripts/sweep.py dcgan --out /work/runs/sweeps
    python scripts/sweep.py dcgan --out /work/runs/sweeps --table-only
"""

import argparse
import json
import pathlib
import subprocess
import sys

GAN_BASE = ["gan", "--data", "mnist", "--batch-size", "64"]
SWEEPS = {
    "dcgan": {
        "epochs": 5,
        "base": GAN_BASE,
        "variants": {
            "baseline": [],
            "spectral norm": ["--spectral-norm"],
            "R1, gamma 1": ["--r1-gamma", "1"],
            "TTUR, G 1e-4, D 4e-4": ["--learning-rate", "1e-4", "--d-learning-rate", "4e-4"],
            "minibatch std": ["--minibatch-std"],
            "all four": [
                "--spectral-norm",
                "--r1-gamma",
                "1",
                "--learning-rate",
                "1e-4",
                "--d-learning-rate",
                "4e-4",
                "--minibatch-std",
            ],
        },
    },
    "vae": {
        "epochs": 60,
        "base": ["vae", "--data", "mnist", "--architecture", "conv", "--latent-dim", "32", "--filters", "32,64"],
        "variants": {"batch 128, lr 1e-3": []},
    },
}


def variant_folder(out, sweep, variant):
    return out / sweep / variant.lower().replace(",", "").replace(" ", "-")


def run_sweep(sweep, out, jit_compile):
    spec = SWEEPS[sweep]
    for variant, arguments in spec["variants"].items():
        folder = variant_folder(out, sweep, variant)
        if (folder / "card.json").exists():
            continue
        command = ["kerasgen", "train", *spec["base"], "--epochs", str(spec["epochs"]), *arguments]
        command += ["--select-every", "1", "--out", str(folder), *([jit_compile] if jit_compile else [])]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)


def in_progress(folder):
    """The selection state in the checkpoint of an unfinished run, or None."""
    import numpy as np

    try:
        with np.load(folder / "checkpoint.npz") as stored:
            return json.loads(str(stored["counters"])).get("selection")
    except OSError:
        return None


def table(sweep, out):
    """The Markdown table of a sweep: each variant's validation figure by epoch, its best epoch and its step time."""
    spec = SWEEPS[sweep]
    rows, figure = [], None
    for variant, arguments in spec["variants"].items():
        folder = variant_folder(out, sweep, variant)
        options = f"`{' '.join(arguments) or '(none)'}`"
        if not (folder / "card.json").exists():
            selection = in_progress(folder)
            if selection is None:
                rows.append(f"| {variant} | {options} | not run yet | | |")
            else:
                curve = ", ".join(f"{value:.1f}" for value in selection["curve"].values())
                rows.append(f"| {variant} | {options} | {curve} (in progress) | | |")
            continue
        training = json.loads((folder / "card.json").read_text())["training"]
        selection = training["selection"]
        figure = selection["figure"]
        curve = ", ".join(f"{value:.1f}" for value in selection["curve"].values())
        best = selection["best_epoch"]
        seconds = training["xla"].get("seconds_per_step") or {}
        step = min(seconds.values()) if seconds else None
        rows.append(
            f"| {variant} | {options} | {curve} | {selection['curve'][str(best)]:.1f} "
            f"(epoch {best}) | {'' if step is None else f'{step:.3f}'} |"
        )
    header = f"| variant | options | {figure or 'figure'} by epoch | best | s/step (timed by the run) |"
    header += "\n| --- | --- | --- | --- | --- |"
    return "\n".join([header, *rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", choices=sorted(SWEEPS))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/sweeps"))
    parser.add_argument("--table-only", action="store_true", help="Print the table of the runs done; train nothing.")
    parser.add_argument(
        "--jit-compile",
        choices=["--jit-compile", "--no-jit-compile"],
        help="Passed to every run [default: none, each run times its step both ways and keeps the faster].",
    )
    args = parser.parse_args()
    if not args.table_only:
        run_sweep(args.sweep, args.out, args.jit_compile)
    print(table(args.sweep, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
