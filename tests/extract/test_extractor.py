"""The structured extractor with the scripted fake model: re-asks, few-shot choice, chunk merging, source spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ragwright.documents.loaders import load_file
from ragwright.errors import ContextLengthExceeded, ExtractionSchemaError, ProviderHTTPError
from ragwright.extract import Example, ExamplePool, ExtractionSchema, ExtractOptions, Extractor
from ragwright.extract.examples import read_examples
from ragwright.extract.extractor import parse_reply
from ragwright.gateway.types import ChatRequest
from ragwright.testing import FakeChatModel, FakeEmbedder
from tests.conftest import write

SCHEMA = {
    "title": "Receipt",
    "type": "object",
    "properties": {
        "company": {"type": ["string", "null"]},
        "total": {"type": ["string", "null"]},
        "items": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["company", "total"],
    "additionalProperties": False,
}


class Invoice(BaseModel):
    """A pydantic schema (loaded as module:Model)."""

    number: str
    amount: float


def extractor(script: Any, **kw: Any) -> tuple[Extractor, FakeChatModel]:
    model = FakeChatModel(script, name="fake:extract")
    return Extractor(model, ExtractionSchema(SCHEMA), counter=FakeEmbedder(), **kw), model


def doc(tmp_path: Path, text: str, name: str = "r.md") -> Any:
    return load_file(write(tmp_path / name, text), name, max_bytes=1 << 20)


async def test_a_valid_reply_links_each_value_to_the_original_file(tmp_path: Path) -> None:
    # Markdown escapes and emphasis are dropped from the text the model reads: the span must point into the file
    source = "# Receipt\n\nShop: **Kopi\\_Corner**\n\nTotal: RM 9.00\n"
    d = doc(tmp_path, source)
    ex, model = extractor([json.dumps({"company": "Kopi_Corner", "total": "9.00", "items": []})])
    result = await ex.extract(d)
    assert result.valid and result.calls == 1 and result.reasks == 0
    assert result.data == {"company": "Kopi_Corner", "total": "9.00", "items": []}
    by_path = {f.path: f for f in result.fields}
    company = by_path["company"]
    assert d.text[company.start : company.end] == "Kopi_Corner"
    (span,) = company.spans
    assert source[span.start : span.end] == "Kopi\\_Corner"  # the original bytes, escape included
    total = by_path["total"]
    assert source[total.spans[0].start : total.spans[0].end] == "9.00"
    # the document went to the model fenced as data, with the schema in the system turn
    req = model.requests[0]
    assert req.response_format is not None and req.response_format.json_schema == SCHEMA
    assert '"company"' in (req.messages[0].content or "") and "<<<DOCUMENT" in (req.messages[-1].content or "")


async def test_invalid_replies_are_re_asked_with_their_errors_then_accepted(tmp_path: Path) -> None:
    replies = [
        "Sure! Here is the data: {company: Kopi}",  # not JSON
        json.dumps({"company": "Kopi", "total": 9}),  # total must be a string
        json.dumps({"company": "Kopi", "total": "9.00"}),
    ]
    ex, model = extractor(replies)
    result = await ex.extract(doc(tmp_path, "Kopi\nTotal 9.00\n", "r.txt"))
    assert result.valid and result.calls == 3 and result.reasks == 2
    second, third = model.requests[1], model.requests[2]
    assert "not valid JSON" in (second.messages[-1].content or "")
    assert second.messages[-2].role == "assistant" and "{company: Kopi}" in (second.messages[-2].content or "")
    assert "total: 9 is not of type 'string', 'null'" in (third.messages[-1].content or "")


async def test_re_asks_are_bounded_and_the_last_errors_are_reported(tmp_path: Path) -> None:
    ex, model = extractor(["no json here"] * 5, options=ExtractOptions(max_reasks=1))
    result = await ex.extract(doc(tmp_path, "Kopi\n", "r.txt"))
    assert model.calls == 2 and not result.valid and result.data is None
    assert result.errors == ["the reply holds no JSON object"]


async def test_a_gateway_error_is_raised_not_hidden(tmp_path: Path) -> None:
    ex, _ = extractor([ProviderHTTPError(401, "bad key", provider="fake:extract")])
    with pytest.raises(ProviderHTTPError):
        await ex.extract(doc(tmp_path, "Kopi\n", "r.txt"))


async def test_few_shot_examples_are_the_nearest_by_embedding(tmp_path: Path) -> None:
    pool = ExamplePool(
        [
            Example("Curriculum vitae: Python engineer, ten years", {"company": None, "total": None}, "cv"),
            Example("Receipt KOPI CORNER total RM 4.50 cash", {"company": "KOPI CORNER", "total": "4.50"}, "r1"),
            Example("Resume: data scientist, Berlin", {"company": None, "total": None}, "cv2"),
            Example("Receipt TEA HOUSE total RM 3.00 cash change", {"company": "TEA HOUSE", "total": "3.00"}, "r2"),
        ],
        FakeEmbedder(),
    )
    ex, model = extractor([json.dumps({"company": "MAMAK", "total": "7.00"})], pool=pool)
    result = await ex.extract(doc(tmp_path, "Receipt MAMAK total RM 7.00 cash\n", "r.txt"))
    assert sorted(result.examples) == ["r1", "r2"]
    shots = [m.content or "" for m in model.requests[0].messages[1:-1]]
    assert len(shots) == 4 and "KOPI CORNER" in "".join(shots) and "Resume" not in "".join(shots)
    assert json.loads(shots[1]) in (
        {"company": "KOPI CORNER", "total": "4.50"},
        {"company": "TEA HOUSE", "total": "3.00"},
    )


async def test_zero_shot_sends_no_examples(tmp_path: Path) -> None:
    ex, model = extractor([json.dumps({"company": "A", "total": None})], options=ExtractOptions(k=0))
    await ex.extract(doc(tmp_path, "A\n", "r.txt"))
    assert [m.role for m in model.requests[0].messages] == ["system", "user"]


async def test_a_long_document_is_chunked_and_merged_field_by_field(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i} " + "filler words " * 30 for i in range(6)]
    paragraphs[1] += "Company: ACME TRADING"
    paragraphs[4] += "Item: kettle. Total: 42.00"
    paragraphs[5] += "Item: descaler. Total: 42.00"
    d = doc(tmp_path, "\n\n".join(paragraphs) + "\n", "long.txt")

    def reply(request: ChatRequest) -> str:
        text = request.messages[-1].content or ""
        return json.dumps(
            {
                "company": "ACME TRADING" if "ACME" in text else None,
                "total": "42.00" if "Total" in text else None,
                "items": [w for w in ("kettle", "descaler") if f"Item: {w}" in text],
            }
        )

    ex, model = extractor(reply, options=ExtractOptions(chunk_tokens=120, k=0))
    result = await ex.extract(d)
    assert result.chunks > 2 and model.calls == result.chunks and result.valid
    assert result.data == {"company": "ACME TRADING", "total": "42.00", "items": ["kettle", "descaler"]}
    by_path = {f.path: f for f in result.fields}
    assert d.text[by_path["company"].start : by_path["company"].end] == "ACME TRADING"
    assert d.text.index("Total: 42.00") + 7 == by_path["total"].start  # the first chunk that stated it
    assert by_path["items[1]"].value == "descaler" and by_path["items[1]"].start is not None


async def test_a_value_the_text_does_not_hold_has_no_span(tmp_path: Path) -> None:
    ex, _ = extractor([json.dumps({"company": "Invented Ltd", "total": "1.00"})])
    result = await ex.extract(doc(tmp_path, "Total 1.00\n", "r.txt"))
    by_path = {f.path: f for f in result.fields}
    assert by_path["company"].start is None and by_path["company"].spans == ()
    assert by_path["total"].start == 6


async def test_a_pydantic_model_schema_validates_through_the_model(tmp_path: Path) -> None:
    schema = ExtractionSchema.load("tests.extract.test_extractor:Invoice")
    assert schema.model is not None and schema.model.__name__ == "Invoice" and schema.fields == ("number", "amount")
    model = FakeChatModel([json.dumps({"number": "17"}), json.dumps({"number": "17", "amount": "12.5"})])
    ex = Extractor(model, schema, counter=FakeEmbedder())
    result = await ex.extract(doc(tmp_path, "Invoice 17, amount 12.5\n", "i.txt"))
    assert result.valid and result.reasks == 1 and result.data == {"number": "17", "amount": 12.5}
    assert "amount: Field required" in (model.requests[1].messages[-1].content or "")


def test_schemas_and_examples_that_cannot_be_used_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExtractionSchemaError, match="object with 'properties'"):
        ExtractionSchema({"type": "string"})
    with pytest.raises(ExtractionSchemaError, match="not a valid JSON Schema"):
        ExtractionSchema({"type": "object", "properties": {"a": {"type": "nope"}}})
    with pytest.raises(ExtractionSchemaError, match="give a .json file or module:Model"):
        ExtractionSchema.load("nothing-here")
    with pytest.raises(ExtractionSchemaError, match="not a pydantic model"):
        ExtractionSchema.load("json:dumps")
    bad = write(tmp_path / "ex.jsonl", json.dumps({"text": "x", "output": {"company": 3, "total": None}}) + "\n")
    with pytest.raises(ExtractionSchemaError, match=r"ex.jsonl:1: the example's output does not follow the schema"):
        read_examples(bad, ExtractionSchema(SCHEMA))


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_parse_reply(text: str, data: dict[str, Any] | None) -> None:
    assert parse_reply(text)[0] == data


async def test_examples_over_the_character_budget_are_left_out_least_similar_first(tmp_path: Path) -> None:
    pool = ExamplePool(
        [
            Example("Receipt MAMAK total " + "x " * 200, {"company": "A", "total": None}, "long-near"),
            Example("Receipt MAMAK total cash", {"company": "B", "total": None}, "short-near"),
        ],
        FakeEmbedder(),
    )
    options = ExtractOptions(k=2, example_chars=300)
    ex, model = extractor([json.dumps({"company": "MAMAK", "total": None})], pool=pool, options=options)
    result = await ex.extract(doc(tmp_path, "Receipt MAMAK total cash\n", "r.txt"))
    assert result.examples == ["short-near"]  # the pair was over 300 characters: the less similar one went
    assert len(model.requests[0].messages) == 4


async def test_a_prompt_the_model_finds_too_long_drops_the_least_similar_example(tmp_path: Path) -> None:
    pool = ExamplePool(
        [
            Example("Receipt MAMAK total RM 7.00 cash", {"company": "MAMAK", "total": "7.00"}, "near"),
            Example("Receipt TEA HOUSE total cash change", {"company": "TEA HOUSE", "total": None}, "far"),
        ],
        FakeEmbedder(),
    )

    def model_window(request: ChatRequest) -> Any:  # the model's own count: two examples do not fit, one does
        shots = (len(request.messages) - 2) // 2
        if shots > 1:
            return ContextLengthExceeded("too long", provider="fake:extract", tokens=2066, limit=2048)
        return json.dumps({"company": "MAMAK", "total": "7.00"})

    ex, model = extractor(model_window, pool=pool, options=ExtractOptions(k=2))
    result = await ex.extract(doc(tmp_path, "Receipt MAMAK total RM 7.00 cash\n", "r.txt"))
    assert result.valid and result.data == {"company": "MAMAK", "total": "7.00"}
    assert result.examples == ["near"] and result.reasks == 0
    assert [len(r.messages) for r in model.requests] == [6, 4]


async def test_a_zero_shot_prompt_that_does_not_fit_is_the_gateway_error(tmp_path: Path) -> None:
    too_long = ContextLengthExceeded("too long", provider="fake:extract", tokens=3000, limit=2048)
    ex, _ = extractor([too_long], options=ExtractOptions(k=0))
    with pytest.raises(ContextLengthExceeded):
        await ex.extract(doc(tmp_path, "Receipt\n", "r.txt"))
