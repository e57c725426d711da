"""Structured extraction: unstructured documents into a user's schema, each value linked to its source.

- :mod:`ragwright.extract.schema`: the schema (JSON Schema or a pydantic model) and its validator;
- :mod:`ragwright.extract.examples`: few-shot examples chosen per input by embedding similarity;
- :mod:`ragwright.extract.extractor`: the model calls (through the gateway), the bounded re-ask, chunking;
- :mod:`ragwright.extract.merge`: a long document's chunk results merged field by field;
- :mod:`ragwright.extract.spans`: each value's range in the document and in the original file.
"""

from ragwright.extract.examples import Example, ExamplePool
from ragwright.extract.extractor import ExtractionResult, ExtractOptions, Extractor
from ragwright.extract.schema import ExtractionSchema
from ragwright.extract.spans import FieldValue

__all__ = [
    "Example",
    "ExamplePool",
    "ExtractOptions",
    "ExtractionResult",
    "ExtractionSchema",
    "Extractor",
    "FieldValue",
]
