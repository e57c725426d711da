"""The LLM gateway: one `ChatModel` seam, provider adapters, and policies that wrap and compose.

    request ──> Router ──> Cache ──> Budget ──> RateLimit ──> Fallback[ Retry(Breaker(Timeout(provider))) ... ]

Importing this package imports no provider client and no HTTP library.
"""

from ragwright.gateway.base import ChatModel, WrapperModel, collect
from ragwright.gateway.types import (
    Attempt,
    ChatRequest,
    ChatResponse,
    Chunk,
    Message,
    PromptRef,
    RequestContext,
    ResponseFormat,
    TokenLogprob,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "Attempt",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "Chunk",
    "Message",
    "PromptRef",
    "RequestContext",
    "ResponseFormat",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "WrapperModel",
    "collect",
]
