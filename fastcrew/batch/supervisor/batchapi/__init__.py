"""``fastcrew batch --via batch-api``, the supervisor's side: rows' LLM calls collected into
rounds of Batch-API jobs (journaled before they cost anything), answers stored and sent back
to the rows waiting for them. The design: docs/batch-api.md."""

from .journal import JobRecord, RoundJournal
from .rounds import BatchRounds, RoundSettings
from .store import AnswerStore

__all__ = ["AnswerStore", "BatchRounds", "JobRecord", "RoundJournal", "RoundSettings"]
