"""Whose brands a model knows: the country of the file's currency, or manna train --country."""

import pickle

import pytest
from click.testing import CliRunner

from cli.main import _country_code, main
from pipeline.currencies import country_of, country_of_currency
from pipeline.features import FeatureConfig, FeatureSet
from pipeline.normalize import feature_text
from pipeline.offline import read_labeled


@pytest.mark.parametrize(("code", "country"), [("NZD", "NZ"), ("GBP", "GB"), ("AUD", "AU"), ("USD", "US"),
                                               ("EUR", None), ("XAF", None), ("ABC", None), (None, None)])
def test_a_currency_names_its_country_unless_shared(code, country):
    assert country_of_currency(code) == country


def test_a_file_is_of_the_country_of_most_of_its_rows():
    assert country_of(["NZD", "NZD", "USD", None, "EUR"]) == "NZ"
    assert country_of(["EUR", None]) is None


def test_read_labeled_takes_the_country_from_the_currency_column(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("description,amount,currency,category\nCOUNTDOWN PAPANUI,-20.00,NZD,groceries\n"
                    "Z ENERGY,-60.00,nzd,fuel\n", encoding="utf-8")
    assert read_labeled(path).country == "NZ"


@pytest.mark.parametrize(("value", "said"), [
    ("NZL", "two-letter ISO 3166 country code"), ("1Z", "two-letter ISO"), ("ñz", "two-letter ISO"),
    ("XX", "neither a country of the brand catalog nor of a currency")])
def test_train_refuses_a_country_that_is_not_one(value, said, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("description,amount,category\nZ ENERGY,-60.00,fuel\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path), "--country", value])
    assert result.exit_code == 2 and said in " ".join(result.output.split())


LINES = ["eftpos countdown papanui", "new world thorndon", "z energy petone", "transfer to j smith"]


def test_brand_kinds_are_features_of_the_models_country_only():
    nz = FeatureSet.fit(LINES, config=FeatureConfig(country="NZ"))
    us = FeatureSet.fit(LINES, config=FeatureConfig(country="US"))
    assert 'brand kind "supermarket"' in nz.brand_labels()
    assert 'brand kind "supermarket"' not in us.brand_labels()  # Countdown and New World are NZ chains
    assert FeatureSet.fit(LINES, config=FeatureConfig(country="NZ", brands=False)).brand_labels() == []


def test_a_brand_column_fires_on_an_unseen_line_of_a_known_kind_and_survives_pickling():
    features = pickle.loads(pickle.dumps(FeatureSet.fit(LINES, config=FeatureConfig(country="NZ"))))
    column = features.n_features - len(features.brand_labels()) + features.brand_labels().index(
        'brand kind "supermarket"')
    matrix = features.transform([feature_text("WOOLWORTHS ALBANY"), feature_text("TRANSFER TO A JONES")],
                                [-30.0, -30.0])
    assert matrix[0, column] > 0 and matrix[1, column] == 0


def test_uk_and_gb_are_one_country_for_generate_and_train(tmp_path):
    runner = CliRunner()
    files = [tmp_path / f"{code}.csv" for code in ("gb", "uk")]
    for path in files:
        code = path.stem
        assert runner.invoke(main, ["generate", "--recipe", "hard", "--country", code, "-n", "50", "--labels",
                                    str(path)]).exit_code == 0
    assert files[0].read_text(encoding="utf-8") == files[1].read_text(encoding="utf-8")
    assert read_labeled(files[0]).country == "GB"
    assert _country_code("uk") == _country_code("GB") == "GB"
