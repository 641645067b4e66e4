"""The temperature scan: its k = 1 column is the ECE manna evaluate reports on the same folds."""

import pytest

from cli.bench.hard_sets import write_rows
from cli.bench.temperature_scan import scan, table
from pipeline.evaluate import cross_validate, metrics
from pipeline.hard_generate import HardGenerator
from pipeline.offline import read_labeled


@pytest.fixture(scope="module")
def hard_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hard") / "hard-nz-3.csv"
    write_rows(path, HardGenerator(3, "NZ", 400).rows())
    return read_labeled(path)


def test_the_unscaled_temperature_gives_manna_evaluates_ece_and_other_scales_move_it(hard_file):
    found = scan(hard_file, "unseen, true merchant", (0.5, 1.0, 2.0))
    ours, _ = cross_validate(hard_file, "unseen", baseline=False)
    assert found[1.0] == pytest.approx(metrics(ours)["ece"], abs=1e-4)
    assert len(set(found.values())) == 3


def test_the_table_gives_the_mean_over_files_and_the_mean_of_each_files_best():
    result = {"random": {"a.csv": {0.9: 0.02, 1.0: 0.04}, "b.csv": {0.9: 0.06, 1.0: 0.02}}}
    assert "| random | 0.040 | 0.030 | 0.020 |" in table(result, (0.9, 1.0))
