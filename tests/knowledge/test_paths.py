"""File paths as CrewAI resolves them: a str under knowledge/, a Path as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastcrew.knowledge.source.text_file_knowledge_source import TextFileKnowledgeSource


def test_a_str_path_is_read_from_the_knowledge_directory(project: Path) -> None:
    (project / "knowledge" / "docs").mkdir()
    (project / "knowledge" / "docs" / "a.txt").write_text("in knowledge", encoding="utf-8")
    source = TextFileKnowledgeSource(file_paths=["docs/a.txt"])
    assert source.safe_file_paths == [Path("knowledge/docs/a.txt")]
    assert source.content == {Path("knowledge/docs/a.txt"): "in knowledge"}


def test_a_single_str_is_one_path(project: Path) -> None:
    (project / "knowledge" / "a.txt").write_text("one", encoding="utf-8")
    assert TextFileKnowledgeSource(file_paths="a.txt").document_texts() == ["one"]


def test_a_path_object_is_taken_as_given(project: Path, files: Path) -> None:
    source = TextFileKnowledgeSource(file_paths=[files / "notes.txt"])
    assert source.safe_file_paths == [files / "notes.txt"]


def test_an_absolute_str_is_taken_as_given(project: Path, files: Path) -> None:
    source = TextFileKnowledgeSource(file_paths=[str(files / "notes.txt")])
    assert source.safe_file_paths == [files / "notes.txt"]


def test_a_list_mixing_path_and_str_is_all_paths_as_in_crewai(project: Path) -> None:
    # CrewAI's field type (Path | list[Path] | str | list[str]) makes pydantic read a mixed
    # list as list[Path]: its strings are then relative to the working directory
    (project / "a.txt").write_text("beside", encoding="utf-8")
    source = TextFileKnowledgeSource(file_paths=[Path("a.txt"), "a.txt"])
    assert source.safe_file_paths == [Path("a.txt"), Path("a.txt")]


def test_a_missing_file_names_where_it_was_looked_for(project: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        TextFileKnowledgeSource(file_paths=["missing.txt"])
    message = str(caught.value)
    assert message.startswith("File not found: knowledge/missing.txt")
    assert str(project / "knowledge" / "missing.txt") in message
    assert "'knowledge' directory of the working directory" in message


def test_a_directory_is_not_a_file(project: Path) -> None:
    with pytest.raises(IsADirectoryError, match="Not a file: knowledge"):
        TextFileKnowledgeSource(file_paths=[Path("knowledge")])


def test_deprecated_file_path_still_works(files: Path) -> None:
    with pytest.warns(DeprecationWarning, match="'file_path' is deprecated"):
        source = TextFileKnowledgeSource(file_path=files / "notes.txt")
    assert source.safe_file_paths == [files / "notes.txt"]


def test_file_path_wins_over_file_paths_as_in_crewai(files: Path) -> None:
    with pytest.warns(DeprecationWarning, match="'file_path' is deprecated"):
        source = TextFileKnowledgeSource(
            file_path=files / "notes.txt", file_paths=[files / "people.csv"]
        )
    assert source.safe_file_paths == [files / "notes.txt"]


def test_no_path_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a Path, str, or a list of these types"):
        TextFileKnowledgeSource()
    with pytest.raises(ValueError, match="Either file_path or file_paths must be provided"):
        TextFileKnowledgeSource(file_paths=None)
