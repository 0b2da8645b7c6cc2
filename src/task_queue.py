"""The task queue as both sides see it: the Celery app (broker, serialisation, delivery
settings), its two queues, and which tasks go to which. The API sends through it
(`src.broker`) without importing any worker code; `workers/celery_app.py` adds the workers'
side (their tasks, beat's schedule, logging and per-process set-up).

Settings for not losing work: late acks, requeue when a worker dies mid-task, one message
prefetched at a time, a visibility timeout longer than the longest task, JSON only, and no
result backend (task outcomes live in our own tables).
"""

from celery import Celery

from src.config import get_settings

#: Work a person waits on (insights, the outbox relay, the sweepers, pings) and bulk work
#: (imports, indexing: minutes of parsing and embedding) have queues and workers of their
#: own, so that a backlog of bulk work never delays an insight.
INTERACTIVE_QUEUE = "chatsight"
BULK_QUEUE = "chatsight.bulk"

#: The bulk tasks (every other task goes to the interactive queue).
IMPORT_TASK = "chatsight.chats.import"
INDEX_TASK = "chatsight.rag.index_chat"

celery_app = Celery("chatsight", broker=get_settings().redis_url)
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=15 * 60,
    task_soft_time_limit=14 * 60,
    broker_transport_options={"visibility_timeout": 60 * 60},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=INTERACTIVE_QUEUE,
    task_routes={IMPORT_TASK: {"queue": BULK_QUEUE}, INDEX_TASK: {"queue": BULK_QUEUE}},
    enable_utc=True,
    timezone="UTC",
)
