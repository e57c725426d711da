"""With the overlapped ingest, a text is embedded once however many chunks hold it: the same text in one batch, or in
the batch still being embedded while the next is chunked (the store cannot reuse its vector yet), is not sent twice."""

from __future__ import annotations

from pathlib import Path

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.testing import FakeEmbedder
from ragwright.testing.embedding_server import EmbeddingServer
from tests.conftest import write

NOTICE = "# Notice\n\nThe office is closed on public holidays; urgent requests go to the on-call desk.\n"


def test_each_distinct_text_is_embedded_once_across_batches(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for i in range(10):  # one chunk each, all alike: batches of 3 put them in four consecutive batches
        write(docs / f"notice-{i:02d}.md", NOTICE)
    write(docs / "z-kettle.md", "# Kettle\n\nThe kettle has a warranty of 3 years.\n")
    write(docs / "z-teapot.md", "# Teapot\n\nThe teapot lid is made of cork oak.\n")
    with EmbeddingServer(FakeEmbedder(64)) as server:
        spec = f"openai-embed:{server.base_url}#fake"
        app = Ragwright(
            load_settings(data_dir=tmp_path / "index", embedding={"model": spec}, ingest={"embed_batch": 3})
        )
        try:
            assert app.embedder.dim == 64  # the remote embedder's dimension probe, before counting
            before = server.texts_embedded
            report = app.ingest([docs])
            sent = server.texts_embedded - before
            hits = app.search("office closed on public holidays", k=12).hits
        finally:
            app.close()
    assert report.failures == [] and report.count("added") == 12
    assert sent == 3, sent  # before: 8 (the notice in each of the six chunks of the first two batches, two others)
    assert report.chunks_embedded == 3 and report.chunks_reused == 9
    assert {h.chunk.doc_path for h in hits if "holidays" in h.chunk.chunk.text} == {
        f"docs/notice-{i:02d}.md" for i in range(10)
    }  # every copy has its vector
