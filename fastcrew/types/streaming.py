"""CrewAI's import path for the streaming types (``crewai.types.streaming``)."""

from __future__ import annotations

from ..runtime.streaming import CrewStreamingOutput, StreamChunk, StreamChunkType, ToolCallChunk

__all__ = ["CrewStreamingOutput", "StreamChunk", "StreamChunkType", "ToolCallChunk"]
