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
