"""Turn a training run's folder into a zoo entry.

Copies the weights to `saved_models/NAME.weights.h5`, the card to
`zoo/entries/NAME/card.json` (renamed, metrics cleared) and the sample grid
beside it. Measure the entry afterwards so that its card carries figures:

    python scripts/publish_entry.py runs/vae vae.mnist
    kerasgen evaluate vae.mnist --update-card
"""

import argparse
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=pathlib.Path)
    parser.add_argument("name", help="family.tag, e.g. vae.mnist")
    args = parser.parse_args()
    card = json.loads((args.run_dir / "card.json").read_text())
    weights = f"{args.name}.weights.h5"
    shutil.copy(args.run_dir / card["weights"]["file"], ROOT / "saved_models" / weights)
    card.update(name=args.name, metrics={})
    card["weights"]["file"] = weights
    entry = ROOT / "zoo" / "entries" / args.name
    entry.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.run_dir / card["sample_grid"], entry / card["sample_grid"])
    (entry / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"Published {args.name}; now run: kerasgen evaluate {args.name} --update-card")


if __name__ == "__main__":
    main()
