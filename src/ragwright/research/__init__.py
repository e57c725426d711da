"""The research agent: sub-queries over several knowledge bases and MCP sources, a report whose claims are checked.

- :mod:`ragwright.research.planner`: the run's policy (plan searches, then write the report) as a ChatModel;
- :mod:`ragwright.research.report`: the report, each claim checked against its cited passages like ``ask``'s;
- :mod:`ragwright.research.service`: one research run over a Ragwright instance.
"""

from ragwright.agents.evidence import Passage, collect_passages
from ragwright.research.planner import ResearchPlanner
from ragwright.research.report import Claim, ClaimStatus, ResearchReport, Section, check_report
from ragwright.research.service import ResearchOutcome, research, research_runner

__all__ = [
    "Claim",
    "ClaimStatus",
    "Passage",
    "ResearchOutcome",
    "ResearchPlanner",
    "ResearchReport",
    "Section",
    "check_report",
    "collect_passages",
    "research",
    "research_runner",
]
