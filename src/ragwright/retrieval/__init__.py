"""Hybrid retrieval: text analysis, fusion, the retriever."""
