"""Turn a training run's folder into a zoo entry.

Writes the weights, without the optimizer's state, to
`saved_models/NAME.weights.h5`, the card (new sha256) to
`zoo/entries/NAME/card.json` (renamed, metrics cleared) and the sample grid
beside it. Measure the entry afterwards so that its card carries figures:

    python scripts/publish_entry.py runs/vae vae.mnist
    kerasgen evaluate vae.mnist --update-card
"""

import argparse
import json
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=pathlib.Path)
    parser.add_argument("name", help="family.tag, e.g. vae.mnist")
    args = parser.parse_args()
    from kerasgen import imaging, zoo
    from kerasgen.files import write_atomically

    card = zoo.card(args.run_dir)
    model = zoo.load(args.run_dir)  # uncompiled, so the file it saves holds no optimizer state
    weights = ROOT / "saved_models" / f"{args.name}.weights.h5"
    model.save_weights(weights)
    card.update(name=args.name, metrics={})
    card["weights"].update(file=weights.name, sha256=zoo.sha256(weights))
    entry = ROOT / "zoo" / "entries" / args.name
    entry.mkdir(parents=True, exist_ok=True)
    grid = f"zoo/entries/{args.name}/samples.png"
    card.update(sample_grid="samples.png", sample_grid_command=f"kerasgen sample {args.name} -n 64 -o {grid}")
    imaging.save_preview(model, card, ROOT / grid)
    if card["class"] == "GAN":
        strip = f"zoo/entries/{args.name}/interpolation.png"
        rows = [model.interpolate(10, seed=row, label=row % max(1, model.num_classes)) for row in range(6)]
        imaging.save_grid(np.concatenate([np.asarray(row) for row in rows]), ROOT / strip, 10)
        card.update(
            interpolation="interpolation.png",
            interpolation_command=f"kerasgen sample {args.name} --interpolate 10 -n 6 -o {strip}",
        )
    write_atomically(entry / "card.json", json.dumps(card, indent=2) + "\n")
    print(f"Published {args.name}; now run: kerasgen evaluate {args.name} --update-card")


if __name__ == "__main__":
    main()
