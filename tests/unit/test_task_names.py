"""Task names and routes are a public contract: frozen here."""


import celeryconfig
from pipeline.settings import Settings
from workers.app import create_app


def test_task_names_are_frozen():
    app = create_app(Settings())
    app.loader.import_default_modules()  # what a worker does when it boots
    assert sorted(name for name in app.tasks if name.startswith("manna.")) == [
        "manna.bench.naive_categorize", "manna.bench.noop", "manna.categorize_chunk", "manna.evaluate_alerts",
        "manna.evaluate_rollout",
        "manna.recover_stalled_jobs", "manna.retrain", "manna.submit_batch"]


def test_routes_and_non_optional_settings():
    conf = celeryconfig.build(Settings(task_soft_time_limit=60, task_time_limit=90, retry_backoff_max=30))
    assert conf["task_routes"]["manna.submit_batch"] == {"queue": "ingest"}
    assert conf["task_routes"]["manna.categorize_chunk"] == {"queue": "categorize"}
    assert conf["task_routes"]["manna.bench.*"] == {"queue": "bench"}
    assert conf["accept_content"] == ["json"] and conf["task_serializer"] == "json"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"] and conf["task_retry_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1 and conf["task_ignore_result"]
    assert conf["broker_transport_options"]["visibility_timeout"] > 90 + 30
    assert conf["worker_send_task_events"] and conf["worker_max_memory_per_child"] > 0
    # Each queue on its own exchange and key: a message for one queue can never reach another.
    assert all((q.exchange.name, q.routing_key) == (q.name, q.name) for q in conf["task_queues"])
    assert conf["worker_consumer"] == "workers.consumer:Consumer"
    assert conf["beat_schedule"]["evaluate-alerts"]["task"] == "manna.evaluate_alerts"
    assert conf["task_routes"]["manna.evaluate_alerts"] == {"queue": "ingest"}  # served by every pipeline worker
    assert conf["task_routes"]["manna.retrain"] == {"queue": "training"}
    nightly = conf["beat_schedule"]["retrain"]
    assert nightly["task"] == "manna.retrain" and nightly["schedule"].hour == {2} and nightly["schedule"].minute == {0}


def test_the_retrain_schedule_comes_from_the_environment_and_bad_ones_are_refused():
    import pytest
    from pydantic import ValidationError

    schedule = celeryconfig.build(Settings(retrain_cron="30 3 * * 1-5"))["beat_schedule"]["retrain"]["schedule"]
    assert schedule.hour == {3} and schedule.minute == {30} and schedule.day_of_week == {1, 2, 3, 4, 5}
    with pytest.raises(ValidationError, match="five fields"):
        Settings(retrain_cron="nightly")


def test_pickle_is_refused_by_configuration():
    app = create_app(Settings())
    assert "pickle" not in app.conf.accept_content


def test_redis_and_memory_brokers_get_our_transports_and_publishes_ride_out_an_outage():
    from kombu.connection import Connection

    from workers.broker import Transport
    from workers.embedded import MemoryTransport

    redis_conf = celeryconfig.build(Settings(broker_url="redis://127.0.0.1:6379/0", publish_retry_seconds=20))
    connection = Connection(redis_conf["broker_url"], transport=redis_conf["broker_transport"])
    assert connection.transport_cls == "workers.broker:Transport"
    assert isinstance(connection.transport, Transport)
    assert celeryconfig.build(Settings(broker_url="amqp://guest@localhost//"))["broker_transport"] is None
    embedded_conf = celeryconfig.build(Settings())  # kombu's memory transport, polled often, drained briefly
    embedded = Connection(embedded_conf["broker_url"], transport=embedded_conf["broker_transport"]).transport
    assert isinstance(embedded, MemoryTransport) and embedded.polling_interval < 1
    policy = redis_conf["task_publish_retry_policy"]
    waits = [min(policy["interval_start"] + i * policy["interval_step"], policy["interval_max"])
             for i in range(policy["max_retries"])]
    assert 18 <= sum(waits) <= 22
