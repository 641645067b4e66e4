"""The project's ingestion client: which queue a message goes to."""

from pipeline.settings import Settings
from workers.client import batches, queue_for


def test_a_message_of_a_few_rows_takes_the_latency_queue_and_a_larger_one_ingest():
    settings = Settings(latency_max_transactions=10)
    assert [queue_for(n, settings) for n in (1, 10, 11, 1000)] == ["latency", "latency", "ingest", "ingest"]


def test_a_zero_limit_sends_every_message_to_ingest():
    assert queue_for(1, Settings(latency_max_transactions=0)) == "ingest"


def test_rows_are_split_into_consecutive_messages_of_at_most_the_size():
    assert list(batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
