"""`python -m benchmarks [--quick] [--only FAMILY,...] [--mixed-precision] [--extended] [--out DIR]`."""

import argparse
import json
import os
import pathlib
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny step counts: a smoke run of a few minutes")
    parser.add_argument("--only", default="", help="comma-separated cases or families, e.g. gan,cyclegan.128,peer")
    parser.add_argument("--mixed-precision", action="store_true", help="also time the mixed dtype policy")
    parser.add_argument("--extended", action="store_true", help="add CycleGAN 128 px at batch 4")
    parser.add_argument("--no-serving", action="store_true", help="skip the serving measurements")
    parser.add_argument("--serving-only", action="store_true", help="only serving and `kerasgen --help`")
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="RESULTS_JSON",
        help="combine results.json files of partial runs (later files add rows and replace figures) into --out",
    )
    parser.add_argument(
        "--onednn",
        nargs=2,
        metavar=("ON_JSON", "OFF_JSON"),
        help="add the oneDNN on/off comparison of two runs' results.json to --out's results and RESULTS.md",
    )
    parser.add_argument("--out", default=None, help="folder for RESULTS.md and results.json (default benchmarks/)")
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only rewrite RESULTS.md from a results.json")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kerasgen.onednn import prefer_onednn

    prefer_onednn()  # measure what the `kerasgen` command runs
    from benchmarks import DEFAULT_OUT, report, run

    out = pathlib.Path(args.out) if args.out else DEFAULT_OUT
    if args.render:
        results = json.loads(pathlib.Path(args.render).read_text())
        (out / "RESULTS.md").write_text(report.render(results))
        return 0
    if args.onednn:
        from benchmarks.report_onednn import compare

        results = json.loads((out / "results.json").read_text())
        try:
            results["onednn"] = compare(*(json.loads(pathlib.Path(path).read_text()) for path in args.onednn))
        except ValueError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 2
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (out / "RESULTS.md").write_text(report.render(results))
        return 0
    if args.merge:
        results = report.merge([json.loads(pathlib.Path(path).read_text()) for path in args.merge])
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (out / "RESULTS.md").write_text(report.render(results))
        return 0
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    try:
        run(
            only,
            args.quick,
            args.mixed_precision,
            args.extended,
            out,
            serving=not args.no_serving,
            measure_training=not args.serving_only,
        )
    except ValueError as error:  # an unknown case name
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
