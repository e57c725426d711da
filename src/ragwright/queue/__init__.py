"""Ingest jobs on a PostgreSQL queue (procrastinate, docs/adr/0011-ingest-queue.md): the API replicas put uploads on
it (:class:`~ragwright.queue.client.IngestQueue`), ``ragwright worker`` processes on any host consume it
(:class:`~ragwright.queue.consumer.IngestConsumer`), each running the job in the sandboxed ingest subprocess
(:class:`~ragwright.queue.child.IngestChild`). Used only with ``[queue] enabled``; the embedded mode never imports it.
"""
