"""The benchmarks' pure helpers on tiny inputs (no timing assertions)."""

import keras
import pytest
import tensorflow as tf

from benchmarks import cases, flops, markdown, report, serving_child, timing
from benchmarks.machine import cpu_info


def test_warmup_steps_are_dropped_and_the_median_taken():
    stamps = [0.0, 5.0, 6.0, 6.5, 8.5, 9.0]  # step 0 ends at 0.0; steps 1.. last 5, 1, 0.5, 2, 0.5
    assert timing.step_durations(stamps, warmup=2) == [1.0, 0.5, 2.0, 0.5]
    assert timing.step_durations(stamps, warmup=0) == timing.step_durations(stamps, warmup=1)
    summary = timing.summarize(timing.step_durations(stamps, warmup=2), batch_size=8)
    assert summary["median_s"] == 0.75
    assert summary["images_per_s"] == pytest.approx(8 / 0.75)
    assert summary["steps"] == 4
    with pytest.raises(ValueError):
        timing.summarize([], 8)
    assert timing.share(0.2, 0.15) == pytest.approx(0.25)


def test_analytic_conv_flops_match_the_profiler_on_a_known_layer():
    inputs = keras.Input((6, 6, 2), batch_size=3)
    layer = keras.layers.Conv2D(5, 3, padding="same", use_bias=False)
    keras.Model(inputs, layer(inputs))
    assert flops.layer_flops(layer) == flops.conv_flops(6, 6, 3, 3, 2, 5) == 2 * 6 * 6 * 3 * 3 * 2 * 5
    counted = flops.profiler_flops(lambda images: layer(images), tf.TensorSpec((3, 6, 6, 2)))
    assert counted == 3 * flops.layer_flops(layer)


def test_transposed_and_dense_layers_are_counted():
    inputs = keras.Input((4, 4, 3))
    transposed = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
    dense = keras.layers.Dense(7)
    keras.Model(inputs, dense(keras.layers.Flatten()(transposed(inputs))))
    assert flops.layer_flops(transposed) == 2 * 4 * 4 * 3 * 3 * 3 * 2
    assert flops.layer_flops(dense) == 2 * (8 * 8 * 2) * 7


def test_markdown_table_formats_and_escapes_cells():
    text = markdown.table(["case", "value"], [["a|b", 1234.5], ["c", None], ["d", 0.012345]])
    assert text.splitlines() == [
        "| case | value |",
        "| --- | --- |",
        "| a\\|b | 1,234 |",
        "| c | - |",
        "| d | 0.0123 |",
    ]
    with pytest.raises(ValueError):
        markdown.table(["one"], [[1, 2]])
    assert markdown.percent(0.0456) == "4.6%"


def test_report_reads_the_numbers():
    row = {"policy": "float32", "batch_size": 8, "steps": 3, "min_s": 0.1, "max_s": 0.3}
    results = {
        "matmul_peak": {"size": 64, "gflops": 100.0, "repeats": 2},
        "training_family": {"toy": "toy"},
        "training": [
            {**row, "case": "toy", "jit": True, "feed": "pipeline", "median_s": 0.2, "images_per_s": 40.0},
            {**row, "case": "toy", "jit": True, "feed": "memory", "median_s": 0.19, "images_per_s": 42.1},
            {"case": "toy", "policy": "float32", "jit": True, "pipeline_share": 0.05},
            {**row, "case": "toy", "jit": False, "feed": "pipeline", "median_s": 0.4, "images_per_s": 20.0},
            {"case": "toy", "policy": "float32", "jit": False, "error": "ValueError: no"},
        ],
        "flops": [{"case": "toy", "profiler": 12e9, "analytic": 10e9}],
        "errors": ["toy training (float32, XLA False): ValueError: no"],
    }
    assert report.faster_jit(results, "toy")[0] is True
    assert report.xla_recommendation(results) == {"toy": True}
    text = report.render(results)
    assert "2.00x faster with XLA on" in text
    assert "| toy | 12 | 10 | 1.200 | 200 | on | 50 | 50.0% |" in text
    assert "ValueError: no" in text


def test_xla_section_reads_cyclegans_speedups_from_its_own_table():
    steps = [("cyclegan.digits", True, 0.2), ("cyclegan.digits", False, 0.3), ("cyclegan.128", True, 4.0)]
    steps += [("cyclegan.128", False, 3.0), ("gan", True, 0.1), ("gan", False, 0.5)]
    row = {"policy": "float32", "feed": "pipeline", "batch_size": 1, "steps": 3}
    training = [
        {**row, "case": case, "jit": jit, "median_s": s, "min_s": s, "max_s": s, "images_per_s": 1 / s}
        for case, jit, s in steps
    ]
    results = {"training_family": {"cyclegan.digits": "cyclegan", "gan": "gan"}, "training": training}
    assert report.xla_speedups(results, "cyclegan.") == [1.5, 0.75]
    assert report.xla_table(results).splitlines()[2:4] == [
        "| cyclegan.digits | cyclegan | 5 | 3.33 | 1.50x | on |",
        "| cyclegan.128 | - | 0.25 | 0.333 | 0.75x | off |",
    ]
    assert "this table has XLA 0.75-1.50x as fast for CycleGAN" in report.render(results)


def test_a_pipeline_share_above_target_says_whether_the_feeds_steps_overlap():
    timed = [("pipeline", True, 0.20, 0.22, 0.25), ("memory", True, 0.18, 0.19, 0.21)]
    timed += [("pipeline", False, 0.30, 0.31, 0.32), ("memory", False, 0.25, 0.26, 0.27)]
    row = {"case": "toy", "policy": "float32"}
    training = [
        {**row, "jit": jit, "feed": feed, "min_s": low, "median_s": median, "max_s": high}
        for feed, jit, low, median, high in timed
    ]
    training += [{**row, "jit": True, "pipeline_share": 0.136}, {**row, "jit": False, "pipeline_share": 0.161}]
    results = {"training": training}
    text = report.limits_section(results)
    assert "at most 16.1% of a step (above the 5% target; XLA off, its pipeline-fed steps (300-320 ms) were" in text
    assert "all slower than the memory-fed ones (250-270 ms))." in text
    results["training"][-1]["pipeline_share"] = 0.02
    text = report.limits_section(results)
    assert "at most 13.6% of a step (above the 5% target; XLA on, its pipeline-fed steps (200-250 ms)" in text
    assert "overlap the memory-fed ones (180-210 ms): not told apart from timing noise" in text


def test_serving_rates_skip_batches_that_would_take_too_long():
    calls = []
    results = serving_child.rates(lambda batch: lambda: calls.append(batch), [64, 1], max_call_s=1e9, budget_s=1.0)
    assert sorted(results) == ["1", "64"] and results["1"]["calls"] == 50
    skipped = serving_child.rates(lambda batch: lambda: __import__("time").sleep(0.01), [1, 64], 0.1, 0)
    assert "skipped" in skipped["64"]


def test_case_selection_and_cpu_flags():
    every = cases.all_cases()
    assert [case.name for case in cases.select(every, ["cyclegan"])] == [
        "cyclegan.digits",
        "cyclegan.128",
        "cyclegan.256",
    ]
    assert cases.select(every, ["gan"])[0].config["num_classes"] == 0
    with pytest.raises(ValueError):
        cases.select(every, ["nope"])
    assert cpu_info("model name : Test\nflags : fpu avx2 fma avx512f\n")["flags"] == ["avx2", "fma", "avx512f"]


def test_pipelines_are_the_training_data_with_the_models_images_per_step():
    single = {"source": "uci", "max_shift": 0, "labels": False, "drop_remainder": True}
    config = {"image_shape": [16, 16, 1], "latent_dim": 4, "generator_filters": [8, 4], "discriminator_filters": [4, 8]}
    wgan = cases.Case("gan.wgan", "GAN", {**config, "loss": "wasserstein"}, 4, 1e-4, data=single)
    assert wgan.images_per_step() == 20  # d_steps = 5 minibatches of 4
    assert next(iter(wgan.pipeline(2))).shape == (20, 16, 16, 1)
    assert next(iter(wgan.pipeline(2, images_per_step=8))).shape == (8, 16, 16, 1)
    labelled = cases.Case("classifier.uci", "Classifier", {"image_shape": [16, 16, 1]}, 6, 1e-3, data=single)
    images, labels = next(iter(dataclasses_replace(labelled, labels=True).pipeline(1)))
    assert images.shape == (6, 16, 16, 1) and labels.shape == (6,)
    photos = cases.photo_cyclegan_case(16, batch_size=2)
    batch_a, batch_b = next(iter(photos.pipeline(3)))
    assert batch_a.shape == batch_b.shape == (2, 16, 16, 3)


def dataclasses_replace(case, **data):
    import dataclasses

    return dataclasses.replace(case, data={**case.data, **data})


def test_merge_concatenates_rows_keeps_the_highest_peak_and_drops_errors_later_measured():
    from benchmarks import report

    first = {
        "training": [{"case": "gan", "median_s": 1.0}],
        "serving": [],
        "matmul_peak": {"gflops": 90.0},
        "errors": ["cyclegan.256: stopped", "vae FLOPs: failed"],
    }
    second = {"training": [{"case": "cyclegan.256", "median_s": 9.0}], "matmul_peak": {"gflops": 120.0}, "errors": []}
    merged = report.merge([first, second])
    assert [row["case"] for row in merged["training"]] == ["gan", "cyclegan.256"]
    assert merged["matmul_peak"]["gflops"] == 120.0
    assert merged["errors"] == ["vae FLOPs: failed"]


def test_peer_cases_are_selected_by_name_and_match_the_configurations():
    from benchmarks import select_cases

    selected, peers = select_cases(["peer"])
    assert selected == [] and [case.name for case in peers] == ["peer.digits", "peer.128"]
    digits, photo = peers
    assert digits.base.batch_size == 8 and digits.base.data == {"source": "digits", "augment": False}
    assert {key: digits.base.config[key] for key in ("image_shape", "generator_filters", "discriminator_filters")} == {
        "image_shape": [32, 32, 1],
        "generator_filters": 16,
        "discriminator_filters": 32,
    }
    assert (digits.base.config["semantic_classifier"], digits.base.config["lambda_semantic"]) == (None, 0.0)
    assert all(case.rounds >= 5 and case.steps >= 10 for case in peers)
    assert photo.base.batch_size == 1 and photo.base.data["source"] == "synthetic"
    assert photo.base.config["image_shape"] == [128, 128, 3]
    assert (photo.base.config["generator_filters"], photo.base.config["residual_blocks"]) == (64, 9)
    assert photo.base.config["discriminator_filters"] == 64
    selected, peers = select_cases(["gan", "peer.128"], quick=True)
    assert [case.name for case in selected] == ["gan"] and [case.name for case in peers] == ["peer.128"]
    assert peers[0].base.config["generator_filters"] == 8 and peers[0].rounds * peers[0].steps == 2
    selected, peers = select_cases([])
    assert len(selected) == len(cases.all_cases()) and len(peers) == 2
    with pytest.raises(ValueError):
        select_cases(["peer", "nope"])


def test_peer_timing_helpers():
    from benchmarks import peer

    assert peer.per_round([1.0, 2.0, 3.0, 4.0, 5.0], 2) == [3.0, 7.0, 5.0]
    # Round 2 ran under heavy load for everyone: paired by round it cancels out.
    durations = {
        "kerasgen_xla": [1.0, 1.0, 5.0, 5.0],
        "kerasgen_no_xla": [2.0, 2.0, 10.0, 10.0],
        "peer": [2.0, 2.0, 10.0, 10.0],
    }
    paired = peer.paired_ratios(durations, 2)
    assert paired == {
        "faster_mode": "kerasgen_xla",
        "peer_over_faster": 2.0,
        "peer_over_xla": 2.0,
        "peer_over_no_xla": 1.0,
        "spread": (2.0, 2.0),
    }
    assert peer.paired_ratios({"peer": [1.0]}, 1)["faster_mode"] is None
    assert peer.round_ratios([2.0, 2.0, 6.0], [1.0, 1.0, 4.0], 2) == [2.0, 1.5]
    row = {
        "steps_per_round": 2,
        "runners": {
            name: {"median_s": 9.0, "durations": values, "cpu_durations": [value / 2 for value in values]}
            for name, values in durations.items()
        },
    }
    assert peer.row_ratios(row) == paired
    assert peer.row_ratios(row, "cpu") == paired  # every CPU time half its wall time: the same ratios
    del row["runners"]["peer"]["cpu_durations"]
    assert peer.row_ratios(row, "cpu")["peer_over_faster"] is None
    del row["runners"]["peer"]["durations"]
    assert peer.row_ratios(row)["peer_over_faster"] == 1.0  # from the medians
    assert peer.turns(["a", "b", "c"], 2) == [(0, "a"), (0, "b"), (0, "c"), (1, "c"), (1, "b"), (1, "a")]
    figures = peer.ratios({"kerasgen_xla": 0.5, "kerasgen_no_xla": 0.4, "peer": 0.6})
    assert figures["faster_mode"] == "kerasgen_no_xla"
    assert figures["peer_over_faster"] == pytest.approx(1.5)
    assert figures["peer_over_xla"] == pytest.approx(1.2)
    assert peer.ratios({"peer": 0.6}) == {
        "faster_mode": None,
        "peer_over_faster": None,
        "peer_over_xla": None,
        "peer_over_no_xla": None,
    }
    assert peer.ratios({"kerasgen_xla": 0.5})["peer_over_faster"] is None
    assert peer.goal_met({"peer_over_faster": 1.19}, "peer.digits") is False
    assert peer.goal_met({"peer_over_faster": 1.2}, "peer.digits") is True
    assert peer.goal_met({"peer_over_faster": 1.0}, "peer.128") is True
    assert peer.goal_met({"peer_over_faster": 0.99}, "peer.128") is False
    assert peer.goal_met({"peer_over_faster": None}, "peer.128") is None
    assert peer.onednn_env({"TF_ENABLE_ONEDNN_OPTS": "0"}) == "0" and peer.onednn_env({}) == "unset"


def _peer_row(onednn, xla, no_xla, peer_s, case="peer.digits"):
    summary = lambda median: {"median_s": median, "steps": 3}  # noqa: E731
    return {
        "case": case,
        "title": "32 px digits",
        "onednn": f"{'on' if onednn == '1' else 'off'} (TF_ENABLE_ONEDNN_OPTS={onednn})",
        "onednn_opts": onednn,
        "warmup": 1,
        "rounds": 2,
        "steps_per_round": 3,
        "peer_jit_compile": False,
        "cpu": {"model": "Test CPU", "flags": ["avx2", "avx512f"], "usable_cores": 2},
        "runners": {"kerasgen_xla": summary(xla), "kerasgen_no_xla": summary(no_xla), "peer": summary(peer_s)},
        "errors": {},
    }


def test_peer_runs_merge_into_the_report_without_taking_its_header():
    main = {
        "machine": {"cpu": {"model": "Main CPU"}, "onednn": "off (TF_ENABLE_ONEDNN_OPTS=unset)"},
        "matmul_peak": {"size": 64, "gflops": 100.0, "repeats": 2},
        "training": [
            {
                "case": "gan",
                "policy": "float32",
                "jit": True,
                "feed": "pipeline",
                "median_s": 1.0,
                "batch_size": 64,
                "images_per_s": 64.0,
            }
        ],
        "serving": [],
        "cli_help": {"median_s": 0.3, "runs": [0.3], "command": "kerasgen --help"},
        "errors": [],
    }
    onednn_on = {
        "machine": {"cpu": {"model": "Other CPU"}},
        "matmul_peak": {"size": 64, "gflops": 500.0},
        "cli_help": {"median_s": 9.0},
        "training": [],
        "flops": [],
        "serving": [],
        "peer": [_peer_row("1", 0.30, 0.25, 0.40)],
        "errors": ["peer.128 peer: MemoryError: no"],
    }
    onednn_off = {**onednn_on, "peer": [_peer_row("0", 0.50, 0.45, 0.40)], "errors": []}
    merged = report.merge([main, onednn_on, onednn_off])
    assert merged["machine"]["cpu"]["model"] == "Main CPU"
    assert merged["matmul_peak"]["gflops"] == 100.0 and merged["cli_help"]["median_s"] == 0.3
    assert [row["onednn_opts"] for row in merged["peer"]] == ["1", "0"]
    assert merged["training"] == main["training"]
    assert merged["errors"] == ["peer.128 peer: MemoryError: no"]
    text = report.render(merged)
    assert "## Peer: plain Keras CycleGAN" in text
    assert (
        "| peer.digits | on (TF_ENABLE_ONEDNN_OPTS=1) | 0.3 | 0.25 | 0.4 | 1.60x (XLA off) | 1.33x | 1.60x | met |"
        in text
    )
    assert (
        "| peer.digits | off (TF_ENABLE_ONEDNN_OPTS=0) | 0.5 | 0.45 | 0.4 | 0.89x (XLA off) | 0.80x | 0.89x |" in text
    )
    assert "Test CPU, AVX-512, 2 usable cores" in text
    # A rerun of the same case and setting replaces the older row in the table.
    again = report.merge([merged, {**onednn_on, "peer": [_peer_row("1", 0.2, 0.2, 0.4)], "errors": []}])
    assert len(report.latest_peer_rows(again)) == 2 and "| 2.00x (XLA on) |" in report.render(again)


def test_peer_builds_kerasgens_networks_and_takes_a_finite_train_step():
    import numpy as np

    from benchmarks import peer
    from kerasgen.cyclegan import CycleGAN

    config = {"image_shape": [16, 16, 1], "generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4}
    keras.utils.set_random_seed(0)
    model = peer.build_peer(config)
    reference = CycleGAN(**config)
    ours = (model.generator_g, model.generator_f, model.discriminator_x, model.discriminator_y)
    theirs = (reference.generator_a2b, reference.generator_b2a, reference.discriminator_a, reference.discriminator_b)
    for mine, kerasgens in zip(ours, theirs, strict=True):
        assert [tuple(w.shape) for w in mine.weights] == [tuple(w.shape) for w in kerasgens.weights]
    rng = np.random.default_rng(0)
    images = rng.random((2, 2, 16, 16, 1), dtype=np.float32)
    history = model.fit(tf.data.Dataset.from_tensors((images[0], images[1])), epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    assert set(logs) == {"g_loss", "f_loss", "cycle_loss", "dx_loss", "dy_loss"}
    assert all(np.isfinite(value) for value in logs.values())
    assert model.jit_compile is False  # "auto" on a CPU-only machine


@pytest.mark.slow
def test_peer_trace_sums_a_traced_step_by_op_kind():
    from benchmarks import peer
    from benchmarks.peer_trace import trace_op_kinds

    traced = trace_op_kinds(peer.quick(peer.peer_cases()[0]), "kerasgen_no_xla", steps=1)
    kinds = {row["kind"]: row for row in traced["kinds"]}
    assert traced["wall_s"] > 0
    assert any("Conv2D" in kind and row["ops_per_step"] >= 1 for kind, row in kinds.items())
    assert [row["ms_per_step"] for row in traced["kinds"]] == sorted(
        (row["ms_per_step"] for row in traced["kinds"]), reverse=True
    )


def _onednn_run(state, milliseconds):
    rows = [
        {"case": case, "policy": "float32", "feed": feed, "jit": jit, "median_s": ms / 1000}
        for case, ms_pair in milliseconds.items()
        for jit, ms in zip((True, False), ms_pair, strict=True)
        for feed in ("pipeline", "memory")
    ]
    machine = {"cpu": {"model": "EPYC", "flags": ["avx2"], "usable_cores": 2}, "date": "2026-12-04", "onednn": state}
    return {"training": rows, "machine": machine}


def test_onednn_comparison_pairs_each_cases_faster_mode_and_renders_into_the_report(tmp_path):
    import json

    from benchmarks.__main__ import main
    from benchmarks.report_onednn import compare

    on = _onednn_run("on (TF_ENABLE_ONEDNN_OPTS=1)", {"vae": (225, 109), "gan": (133, 135)})
    off = _onednn_run("off (TF_ENABLE_ONEDNN_OPTS=0)", {"vae": (336, 312), "gan": (158, 254), "cgan": (159, 265)})
    rows = compare(on, off)["rows"]
    assert [(row["case"], row["on_xla"], row["off_xla"], row["speedup"]) for row in rows] == [
        ("vae", False, False, 2.862),
        ("gan", True, True, 1.188),
    ]
    with pytest.raises(ValueError, match="oneDNN on, then one with it off"):
        compare(off, on)
    for name, results in (("on.json", on), ("off.json", off), ("results.json", {"machine": on["machine"]})):
        (tmp_path / name).write_text(json.dumps(results))
    assert main(["--onednn", str(tmp_path / "off.json"), str(tmp_path / "on.json"), "--out", str(tmp_path)]) == 2
    assert main(["--onednn", str(tmp_path / "on.json"), str(tmp_path / "off.json"), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## oneDNN on and off" in text and "| vae | 109 (XLA off) | 312 (XLA off) | 2.86x |" in text
    assert json.loads((tmp_path / "results.json").read_text())["onednn"]["rows"] == rows
