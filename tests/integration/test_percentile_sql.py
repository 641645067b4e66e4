"""The project's one percentile is Postgres' ``percentile_disc``: an operator's SQL over
``task_metrics`` gives the figures of the API and the alerts (``percentile_cont`` would not)."""

import numpy as np
from sqlalchemy import create_engine, text

from pipeline.performance import percentile


def test_percentile_disc_is_our_nearest_rank(pg_url):
    rng = np.random.default_rng(3)
    engine = create_engine(pg_url)
    query = text("SELECT percentile_disc(:q) WITHIN GROUP (ORDER BY v), "
                 "percentile_cont(:q) WITHIN GROUP (ORDER BY v) FROM unnest(CAST(:values AS float8[])) AS v")
    interpolated = 0
    try:
        with engine.connect() as connection:
            for _ in range(60):
                values = rng.lognormal(4, 1, int(rng.integers(1, 200))).round(3)
                for q in (0.5, 0.95, 0.99):
                    disc, cont = connection.execute(query, {"q": q, "values": values.tolist()}).one()
                    assert percentile(values, q * 100) == disc
                    interpolated += cont != disc
    finally:
        engine.dispose()
    assert interpolated > 0
