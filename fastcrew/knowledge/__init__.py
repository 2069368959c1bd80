"""Knowledge as CrewAI has it: sources at ``crewai.knowledge.source``'s paths (strings, text,
PDF, CSV, JSON and Excel files), each loaded once and cut into overlapping character windows.

A source hands a storage layer its chunks with a content hash each
(:meth:`~fastcrew.knowledge.source.base_knowledge_source.BaseKnowledgeSource.knowledge_chunks`),
so chunks already embedded are skipped. PDF and Excel readers need the ``knowledge`` extra
(``pip install 'fastcrew[knowledge]'``), imported only when such a source is built.
"""
