"""Each source: what it reads, the chunks it gives a storage, CrewAI's fields and add()."""

from __future__ import annotations

import datetime
import math
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from fastcrew.knowledge.chunking import KnowledgeChunk, content_hash
from fastcrew.knowledge.source.base_file_knowledge_source import BaseFileKnowledgeSource
from fastcrew.knowledge.source.base_knowledge_source import BaseKnowledgeSource
from fastcrew.knowledge.source.csv_knowledge_source import CSVKnowledgeSource
from fastcrew.knowledge.source.excel_knowledge_source import ExcelKnowledgeSource
from fastcrew.knowledge.source.json_knowledge_source import JSONKnowledgeSource
from fastcrew.knowledge.source.pdf_knowledge_source import PDFKnowledgeSource
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.source.text_file_knowledge_source import TextFileKnowledgeSource

from .pdf_maker import PAGES, pdf_bytes

PEOPLE_JSON_TEXT = (
    "people:   -     name: Brandon\n"
    "    age: 30\n"
    "    tags:       - hiking\n"
    "      - tacos\n"
    "\n"
    "\n"
    "  -     name: Alice\n"
    "    age: 25.5\n"
    "    pet: None\n"
    "\n"
    "\n"
    "active: True\n"
)


class RecordingStorage:
    """A storage that keeps what it was given."""

    def __init__(self) -> None:
        self.saved: list[list[str]] = []

    def save(self, documents: list[str]) -> None:
        self.saved.append(list(documents))

    async def asave(self, documents: list[str]) -> None:
        self.saved.append(list(documents))


def test_string_source_defaults_are_crewais() -> None:
    source = StringKnowledgeSource(content="Brandon is 30.", metadata={"preference": "personal"})
    assert (source.chunk_size, source.chunk_overlap) == (4000, 200)
    assert source.source_type == "string"
    assert source.metadata == {"preference": "personal"}
    assert source.collection_name is None
    assert source.chunks == []
    assert source.storage is None
    assert source.knowledge_chunks() == [
        KnowledgeChunk("Brandon is 30.", content_hash("Brandon is 30."))
    ]


def test_string_source_is_chunked_with_overlap() -> None:
    source = StringKnowledgeSource(content="abcdefghij", chunk_size=4, chunk_overlap=1)
    assert [chunk.text for chunk in source.knowledge_chunks()] == ["abcd", "defg", "ghij", "j"]


def test_string_source_refuses_an_impossible_window() -> None:
    with pytest.raises(ValueError, match="smaller than chunk_size"):
        StringKnowledgeSource(content="x", chunk_size=100)  # overlap 200 by default


def test_text_files_are_chunked_one_by_one(project: Path, files: Path) -> None:
    (project / "knowledge" / "b.txt").write_text("0123456789", encoding="utf-8")
    source = TextFileKnowledgeSource(
        file_paths=[str(files / "notes.txt"), "b.txt"], chunk_size=30, chunk_overlap=5
    )
    assert source.source_type == "text_file"
    notes = (files / "notes.txt").read_text(encoding="utf-8")
    assert source.document_texts() == [notes, "0123456789"]
    texts = [chunk.text for chunk in source.knowledge_chunks()]
    # no chunk straddles two files
    assert texts == [notes[0:30], notes[25:55], notes[50:80], "0123456789"]


def test_pdf_pages_are_read_in_order(files: Path) -> None:
    source = PDFKnowledgeSource(file_paths=[files / "two_pages.pdf"])
    assert source.source_type == "pdf"
    assert source.document_texts() == [f"{PAGES[0]}\n{PAGES[1]}\n"]


def test_pdf_pages_without_text_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "gap.pdf"
    path.write_bytes(pdf_bytes(("first page", "", "third page")))
    assert PDFKnowledgeSource(file_paths=[path]).document_texts() == ["first page\nthird page\n"]


def test_csv_rows_become_lines_of_space_joined_cells(files: Path) -> None:
    source = CSVKnowledgeSource(file_paths=[files / "people.csv"])
    assert source.source_type == "csv"
    assert source.document_texts() == [
        "Name Age City\nBrandon 30 New York\nAlice 25 Los Angeles, CA\n"
    ]


def test_json_is_flattened_as_crewai_does(files: Path) -> None:
    source = JSONKnowledgeSource(file_paths=[files / "people.json"])
    assert source.source_type == "json"
    assert source.document_texts() == [PEOPLE_JSON_TEXT]


def write_workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    people = workbook.active
    assert people is not None
    people.title = "People"
    for row in (
        ["Name", "Age", None, "Name", "Joined"],
        ["Brandon", 30, None, "x", datetime.datetime(2024, 1, 2)],
        ['Al, "Jr"', None, 1.5, "y", datetime.datetime(2024, 1, 2, 9, 30)],
    ):
        people.append(row)
    workbook.create_sheet("Empty")
    totals = workbook.create_sheet("Totals")
    totals.append(["total"])
    totals.append([55])
    workbook.save(path)


def test_excel_sheets_become_csv_as_pandas_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    write_workbook(path)
    source = ExcelKnowledgeSource(file_paths=[path])
    assert source.source_type == "excel"
    assert source.content == {
        path: {
            "People": (
                "Name,Age,Unnamed: 2,Name.1,Joined\n"
                "Brandon,30,,x,2024-01-02\n"
                '"Al, ""Jr""",,1.5,y,2024-01-02 09:30:00\n'
            ),
            "Empty": "\n",
            "Totals": "total\n55\n",
        }
    }
    sheets = source.content[path]
    assert source.document_texts() == [f"{sheets['People']}\n\n\n{sheets['Totals']}\n"]


def test_legacy_xls_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"not read")
    with pytest.raises(ValueError, match=r"\.xls format is not read; save .* as \.xlsx"):
        ExcelKnowledgeSource(file_paths=[path])


def test_every_file_source_shares_the_file_path_handling() -> None:
    for source_class in (
        TextFileKnowledgeSource,
        PDFKnowledgeSource,
        CSVKnowledgeSource,
        JSONKnowledgeSource,
    ):
        assert issubclass(source_class, BaseFileKnowledgeSource)
    for source_class in (ExcelKnowledgeSource, StringKnowledgeSource, BaseFileKnowledgeSource):
        assert issubclass(source_class, BaseKnowledgeSource)


def test_add_keeps_the_chunks_and_saves_them(files: Path) -> None:
    storage = RecordingStorage()
    source = TextFileKnowledgeSource(
        file_paths=[files / "notes.txt"], chunk_size=40, chunk_overlap=10, storage=storage
    )
    source.add()
    expected = [chunk.text for chunk in source.knowledge_chunks()]
    assert source.chunks == expected
    assert storage.saved == [expected]


async def test_aadd_saves_with_asave() -> None:
    storage = RecordingStorage()
    source = StringKnowledgeSource(content="hello", storage=storage, collection_name="crew")
    await source.aadd()
    assert storage.saved == [["hello"]]
    assert source.collection_name == "crew"


def test_add_without_storage_is_crewais_error() -> None:
    with pytest.raises(ValueError, match=r"^No storage found to save documents\.$"):
        StringKnowledgeSource(content="hello").add()


def test_a_storage_without_save_is_refused() -> None:
    with pytest.raises(ValueError, match="storage"):
        StringKnowledgeSource(content="hello", storage=object())


def test_hashes_are_stable_across_processes(files: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from fastcrew.knowledge.source.json_knowledge_source import JSONKnowledgeSource\n"
        f"source = JSONKnowledgeSource(file_paths=[Path({str(files / 'people.json')!r})],"
        " chunk_size=50, chunk_overlap=10)\n"
        "print(*(chunk.content_hash for chunk in source.knowledge_chunks()))\n"
    )
    here = JSONKnowledgeSource(file_paths=[files / "people.json"], chunk_size=50, chunk_overlap=10)
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert there == [chunk.content_hash for chunk in here.knowledge_chunks()]
    assert len(there) == math.ceil(len(PEOPLE_JSON_TEXT) / 40) == 4


def test_a_custom_source_in_crewais_style_still_works() -> None:
    class Notes(BaseKnowledgeSource):
        text: str

        def validate_content(self) -> str:
            return self.text

        def add(self) -> None:
            self.chunks.extend(self._chunk_text(self.validate_content()))
            self._save_documents()

    storage = RecordingStorage()
    Notes(text="abcdef", chunk_size=4, chunk_overlap=2, storage=storage).add()
    assert storage.saved == [["abcd", "cdef", "ef"]]
    with pytest.raises(NotImplementedError, match="Notes does not expose its texts"):
        Notes(text="x").knowledge_chunks()
