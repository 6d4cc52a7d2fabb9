"""Turn a training run's folder into a zoo entry.

Writes the weights, without the optimizer's state, to
`zoo/entries/NAME/model.weights.h5`, the card (new sha256) beside them
(renamed, metrics cleared), the sample grid and the family's extra pictures.
Measure the entry afterwards so that its card carries figures:

    python scripts/publish_entry.py runs/vae vae.mnist
    kerasgen evaluate vae.mnist --update-card
"""

import argparse
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=pathlib.Path)
    parser.add_argument("name", help="family.tag, e.g. vae.mnist")
    args = parser.parse_args()
    from kerasgen import imaging, zoo
    from kerasgen.files import write_atomically

    card = zoo.card(args.run_dir)
    local = {key: value for key, value in card["config"].items() if isinstance(value, str) and os.path.isabs(value)}
    if local:
        raise SystemExit(
            f"Error: the config names folders of this machine ({local}); an entry must load anywhere. "
            "Retrain naming zoo entries instead, or edit the card's config if the entry holds the same network."
        )
    model = zoo.load(args.run_dir)  # uncompiled, so the file it saves holds no optimizer state
    entry = ROOT / "zoo" / "entries" / args.name
    entry.mkdir(parents=True, exist_ok=True)
    weights = entry / "model.weights.h5"
    model.save_weights(weights)
    replaced = entry / "card.json"
    goals = json.loads(replaced.read_text()).get("goals") if replaced.exists() else None
    card.update(name=args.name, metrics={})
    if goals:  # the entry's goals stay; `kerasgen evaluate --update-card` says again whether each is met
        card["goals"] = [{**goal, "met": None} for goal in goals]
    card["weights"].update(file=weights.name, sha256=zoo.sha256(weights))
    grid = f"zoo/entries/{args.name}/samples.png"
    card.update(sample_grid="samples.png", sample_grid_command=f"kerasgen sample {args.name} -n 64 -o {grid}")
    imaging.save_preview(model, card, ROOT / grid)
    card.update(model.extra_pictures(f"zoo/entries/{args.name}", args.name))
    write_atomically(entry / "card.json", json.dumps(card, indent=2) + "\n")
    print(f"Published {args.name}; now run: kerasgen evaluate {args.name} --update-card")


if __name__ == "__main__":
    main()
