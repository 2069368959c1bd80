"""pypdf and openpyxl: imported only by the sources that read them, named when missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastcrew.knowledge.source.excel_knowledge_source import ExcelKnowledgeSource
from fastcrew.knowledge.source.pdf_knowledge_source import PDFKnowledgeSource


def test_importing_every_source_loads_neither_library(files: Path) -> None:
    code = (
        "import sys\n"
        "from fastcrew.knowledge.source import (base_file_knowledge_source, csv_knowledge_source,"
        " excel_knowledge_source, json_knowledge_source, pdf_knowledge_source,"
        " string_knowledge_source, text_file_knowledge_source)\n"
        "from pathlib import Path\n"
        f"text_file_knowledge_source.TextFileKnowledgeSource(file_paths=[Path({str(files)!r})"
        " / 'notes.txt'])\n"
        "print(sorted({'pypdf', 'openpyxl'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "source_class", "name"),
    [("pypdf", PDFKnowledgeSource, "two_pages.pdf"), ("openpyxl", ExcelKnowledgeSource, "x.xlsx")],
)
def test_a_missing_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    files: Path,
    module: str,
    source_class: type[PDFKnowledgeSource] | type[ExcelKnowledgeSource],
    name: str,
) -> None:
    path = files / name if (files / name).exists() else tmp_path / name
    path.touch()
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ImportError) as caught:
        source_class(file_paths=[path])
    assert str(caught.value).endswith(f"needs {module}: pip install 'fastcrew[knowledge]'")
