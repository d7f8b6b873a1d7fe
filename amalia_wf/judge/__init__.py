"""LLM-as-a-judge: a cached, retrying client for OpenAI-compatible endpoints and answer parsers."""

from amalia_wf.judge.client import JudgeClient, JudgeConfig, JudgeResult
from amalia_wf.judge.parse import parse_json_answer, parse_rubric_score

__all__ = ["JudgeClient", "JudgeConfig", "JudgeResult", "parse_json_answer", "parse_rubric_score"]
