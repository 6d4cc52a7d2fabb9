"""Where a peer case's train step spends its time: TensorFlow's profiler trace, summed by op kind.

`python -m benchmarks.peer_trace CASE RUNNER [--steps N] [--top K]` builds
one runner of a peer case (`kerasgen_xla`, `kerasgen_no_xla` or `peer`),
warms it up, traces `--steps` compiled steps with `tf.profiler` and prints,
per op kind, the thread time per step (summed over both executor threads and
Eigen's workers, so the column adds up to more than the wall time) and the
ops per step. Run it for kerasgen and for the peer one after the other on a
quiet machine and compare: the same convolutions in fewer and larger ops
show up as fewer `Conv2D*` ops for less time.

Example:
    >>> rows = trace_op_kinds(peer_cases()[0], "peer", steps=10)
    >>> rows[0]["kind"], rows[0]["ms_per_step"] > 0
"""

import argparse
import collections
import pathlib
import sys
import tempfile
import time

from benchmarks.peer import _build_runner, _fit_steps, peer_cases
from benchmarks.peer_timing import step_clock

WRAPPERS = ("Process", "Run", "StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessWhile")
"""Traced events that contain other ops (the session's run, function calls, loops): left out, not counted twice."""


def trace_op_kinds(case, runner, steps=10):
    """Trace `steps` train steps of one runner; thread milliseconds and ops per step by op kind, largest first.

    Returns:
        `{"wall_s": median wall seconds per traced step, "kinds": [{"kind", "ms_per_step", "ops_per_step"}]}`.
    """
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    model = _build_runner(case, runner)
    _fit_steps(model, case.base.pipeline(case.warmup), case.warmup)
    clock = step_clock(model, iter(case.base.pipeline(3 + steps)))
    for _ in range(3):
        clock()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            walls = sorted(clock()[0] for _ in range(steps))
        finally:
            tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(next(pathlib.Path(logdir).rglob("*.xplane.pb")).read_bytes())
    milliseconds, counts = collections.Counter(), collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {key: metadata.name for key, metadata in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                kind = name.rsplit(":", 1)[-1]  # TensorFlow ops are traced as "scope/name:Kind"
                if ":" in name and kind.isidentifier() and kind not in WRAPPERS:
                    milliseconds[kind] += event.duration_ps / 1e9
                    counts[kind] += 1
    kinds = [
        {"kind": kind, "ms_per_step": total / steps, "ops_per_step": counts[kind] / steps}
        for kind, total in milliseconds.most_common()
    ]
    return {"wall_s": walls[len(walls) // 2], "kinds": kinds}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer_trace", description=__doc__.split("\n")[0])
    parser.add_argument("case", choices=[case.name for case in peer_cases()])
    parser.add_argument("runner", choices=["kerasgen_xla", "kerasgen_no_xla", "peer"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    case = next(case for case in peer_cases() if case.name == args.case)
    started = time.perf_counter()
    traced = trace_op_kinds(case, args.runner, args.steps)
    print(f"{args.case} {args.runner}: median wall {traced['wall_s'] * 1e3:.1f} ms/step over {args.steps} traced steps")
    print(f"{'op kind':40s} {'thread ms/step':>15s} {'ops/step':>9s}")
    for row in traced["kinds"][: args.top]:
        print(f"{row['kind']:40s} {row['ms_per_step']:15.1f} {row['ops_per_step']:9.1f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
