"""Task names and routes are a public contract: frozen here."""


import celeryconfig
from pipeline.settings import Settings
from workers.app import create_app


def test_task_names_are_frozen():
    app = create_app(Settings())
    assert sorted(name for name in app.tasks if name.startswith("manna.")) == [
        "manna.bench.naive_categorize", "manna.bench.noop", "manna.categorize_chunk", "manna.submit_batch"]


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


def test_pickle_is_refused_by_configuration():
    app = create_app(Settings())
    assert "pickle" not in app.conf.accept_content
