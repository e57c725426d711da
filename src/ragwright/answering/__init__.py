"""The ask pipeline: retrieve evidence, answer from it with numbered citations, or abstain."""
