"""LLM-as-a-judge: answer parsers here; the cached, retrying client in amalia_wf.judge.client.

The client is not re-exported: the generation jobs import the parsers (through alba and
ptexams_open), also in the vLLM env, which need not carry the judge's openai pin.
"""

from amalia_wf.judge.parse import parse_json_answer, parse_rubric_score

__all__ = ["parse_json_answer", "parse_rubric_score"]
