"""A stand-in for the ingestion service: it imports only celery and sends by task name.

Usage: python ingest_client.py BROKER_URL JOB_ID ROWS.json [PER_MESSAGE]
"""

import json
import sys
from pathlib import Path

from celery import Celery

broker_url, job_id, rows_path = sys.argv[1:4]
per_message = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
rows = json.loads(Path(rows_path).read_text())
app = Celery("ingestion-service", broker=broker_url)
app.conf.task_serializer = "json"
for start in range(0, len(rows), per_message):
    app.send_task("manna.submit_batch", queue="ingest", kwargs={
        "job_id": job_id, "transactions": rows[start:start + per_message], "source": "bank-feed"})
ours = sorted(m for m in sys.modules if m.split(".")[0] in {"pipeline", "db", "tasks", "workers", "cli"})
print(json.dumps({"sent": len(rows), "our_modules": ours}))
