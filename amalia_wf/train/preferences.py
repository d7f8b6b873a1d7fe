"""Preference pairs for DPO (paper section 4.3).

On-policy pairs: prompts sampled from the SFT data, several candidates per prompt from the SFT model,
scored by a reward model (ArmoRM in the paper); the highest reward is chosen, the lowest rejected.
The reward model favoured answers that ignore task constraints, so the paper adds pairs that need no
reward model: persona data (the original answer chosen, a model's answer rejected), math (a strong
model's answer chosen, a weak model's rejected) and public preference datasets.

Pairs are trl's conversational preference format, so DPOTrainer reads them as they are.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amalia_wf.generation import GenerationSettings, Messages
from amalia_wf.generation import generate as generate_answers
from amalia_wf.io import atomic_path, dumps, write_json
from amalia_wf.train.chat import ChatDataError, load_chat_file, read_json_lines
from amalia_wf.train.tokenizer import CHAT_TEMPLATE, chat_texts

# Section 4.3: "In total, this mixture comprised 478K preference pairs."
PAPER_PAIRS = 478_000


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------------- prompts


def _prompt_and_reference(record: dict[str, Any]) -> dict[str, Any] | None:
    """The conversation up to its last user turn and the answer given to it; None if it has none."""
    messages = record["messages"]
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users or users[-1] + 1 >= len(messages) or messages[users[-1] + 1]["role"] != "assistant":
        return None
    return {"prompt": messages[: users[-1] + 1], "reference": messages[users[-1] + 1]["content"]}


def prompts_with_references(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every usable record, in order, as {"prompt", "reference"}."""
    return [s for s in map(_prompt_and_reference, records) if s is not None]


def sample_prompts(records: Sequence[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """n distinct prompts drawn without replacement (fewer if fewer are usable), the same for the same seed.

    Copies of one prompt (a source the SFT mixture repeats to fill its token budget) count once.
    """
    distinct: dict[str, dict[str, Any]] = {}
    for item in prompts_with_references(records):
        distinct.setdefault(json.dumps(item["prompt"], sort_keys=True), item)
    usable = list(distinct.values())
    return random.Random(seed).sample(usable, min(n, len(usable)))


# --------------------------------------------------------------------------- generation


def generation_settings(cfg: dict[str, Any], n: int) -> GenerationSettings:
    """The config section's sampling, n answers per prompt."""
    return GenerationSettings(
        max_new_tokens=cfg["max_new_tokens"],
        backend=cfg["backend"],
        batch_size=cfg["batch_size"],
        temperature=cfg["temperature"],
        top_p=cfg["top_p"],
        seed=cfg["seed"],
        num_return_sequences=n,
        # A tokenizer without a template gets the policy's ChatML, the format every model here was trained on.
        fallback_chat_template=CHAT_TEMPLATE,
    )


# --------------------------------------------------------------------------- reward


class RewardScorer:
    """A sequence-classification reward model (ArmoRM in the paper) giving one scalar per answer."""

    def __init__(
        self, model_dir: str | Path, batch_size: int, trust_remote_code: bool = False, max_length: int = 4096
    ) -> None:
        self.name = str(model_dir)
        self.batch_size, self.max_length = batch_size, max_length
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
        # The reward is read at the last real token: right padding because ArmoRM finds it as "first pad - 1",
        # left truncation so that token is always the end of the answer.
        self.tokenizer.padding_side, self.tokenizer.truncation_side = "right", "left"
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, trust_remote_code=trust_remote_code, dtype=dtype
        ).to(_device()).eval()

    @torch.inference_mode()
    def score(self, prompts: Sequence[Messages], candidates: Sequence[Sequence[str]]) -> list[list[float]]:
        """Reward of each candidate answer to its prompt, shaped like `candidates`."""
        flat = [
            (i, [*prompt, *_answer(c)])
            for i, (prompt, cands) in enumerate(zip(prompts, candidates, strict=True))
            for c in cands
        ]
        rewards: list[float] = []
        for start in range(0, len(flat), self.batch_size):
            chunk = flat[start : start + self.batch_size]
            batch = self.tokenizer(
                chat_texts(self.tokenizer, [conv for _, conv in chunk]),
                add_special_tokens=False,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.model.device)
            out = self.model(**batch)
            # ArmoRM's remote code returns its preference score as `.score`; plain reward heads give logits.
            values = out.score if getattr(out, "score", None) is not None else out.logits
            values = values.float().reshape(len(chunk), -1)[:, 0].tolist()
            for (prompt_index, _), value in zip(chunk, values, strict=True):
                if not math.isfinite(value):
                    raise RuntimeError(f"reward model {self.name} returned {value} for prompt {prompt_index}")
            rewards.extend(values)
        flat_rewards = iter(rewards)
        return [[next(flat_rewards) for _ in cands] for cands in candidates]


# --------------------------------------------------------------------------- pairs


def _answer(text: str) -> Messages:
    return [{"role": "assistant", "content": text}]


def _pair(
    prompt: Messages,
    chosen: Messages,
    rejected: Messages,
    source: str,
    scores: tuple[float | None, float | None] = (None, None),
) -> dict[str, Any]:
    return {
        "prompt": list(prompt),
        "chosen": chosen,
        "rejected": rejected,
        "source": source,
        "chosen_score": scores[0],
        "rejected_score": scores[1],
    }


def best_worst_pairs(
    prompts: Sequence[Messages],
    candidates: Sequence[Sequence[str]],
    rewards: Sequence[Sequence[float]],
    source: str = "on_policy",
) -> tuple[list[dict[str, Any]], int]:
    """Highest reward chosen, lowest rejected; a prompt whose best and worst do not differ is dropped.

    Identical texts count as a tie even when float noise gives them slightly different rewards:
    such a pair carries no preference.
    """
    pairs, ties = [], 0
    for prompt, cands, scores in zip(prompts, candidates, rewards, strict=True):
        best = max(range(len(cands)), key=scores.__getitem__)
        worst = min(range(len(cands)), key=scores.__getitem__)
        if scores[best] == scores[worst] or cands[best] == cands[worst]:
            ties += 1
            continue
        scores_pair = (scores[best], scores[worst])
        pairs.append(_pair(prompt, _answer(cands[best]), _answer(cands[worst]), source, scores_pair))
    return pairs, ties


def reference_pairs(prompts: Sequence[dict[str, Any]], generated: Sequence[str], source: str) -> list[dict[str, Any]]:
    """Persona strategy: the dataset's answer chosen, a model's answer to the same prompt rejected.

    `prompts` are {"prompt", "reference"} items (sample_prompts / prompts_with_references).
    """
    return [
        _pair(item["prompt"], _answer(item["reference"]), _answer(answer), source)
        for item, answer in zip(prompts, generated, strict=True)
        if item["reference"].strip() != answer.strip()
    ]


def two_model_pairs(
    prompts: Sequence[Messages], chosen_answers: Sequence[str], rejected_answers: Sequence[str], source: str
) -> list[dict[str, Any]]:
    """Math strategy: a strong model's answer chosen (Qwen3-32B), a weak model's rejected (Qwen3-0.6B)."""
    return [
        _pair(prompt, _answer(chosen), _answer(rejected), source)
        for prompt, chosen, rejected in zip(prompts, chosen_answers, rejected_answers, strict=True)
        if chosen.strip() != rejected.strip()
    ]


# --------------------------------------------------------------------------- public preference datasets


def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    limit = spec.get("limit")
    if "path" in spec:
        rows = []
        for lineno, row, error in read_json_lines(spec["path"]):
            if error:
                raise ChatDataError(f"{spec['path']}:{lineno}: {error}")
            rows.append(row)
        return rows[:limit] if limit is not None else rows
    import datasets  # only hub specs need it, and it takes seconds to import

    hub = spec["hub"]
    try:
        ds = datasets.load_dataset(hub["dataset"], hub.get("config"), split=hub["split"], revision=hub.get("revision"))
    except OSError as e:  # offline: ConnectionError; missing: FileNotFoundError
        raise RuntimeError(
            f"preference dataset {spec['name']!r}: cannot load {hub['dataset']!r} from the Hugging Face Hub: {e}"
        ) from e
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    return list(ds)


def load_preference_dataset(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """An existing preference dataset (UltraFeedback, math-dpo, ...) as pairs with source = spec["name"].

    "conversational" rows are trl's format, with the prompt explicit or implicit in chosen/rejected;
    "prompt_chosen_rejected_strings" rows hold one user prompt and two answers as strings.
    """
    pairs = []
    for i, row in enumerate(_rows(spec)):
        if spec["format"] == "prompt_chosen_rejected_strings":
            prompt = [{"role": "user", "content": row["prompt"]}]
            chosen, rejected = _answer(row["chosen"]), _answer(row["rejected"])
        elif spec["format"] == "conversational":
            from trl.data_utils import maybe_extract_prompt  # importing trl takes seconds; only this format needs it

            row = maybe_extract_prompt({k: row[k] for k in ("prompt", "chosen", "rejected") if k in row})
            prompt, chosen, rejected = row["prompt"], row["chosen"], row["rejected"]
        else:
            raise ValueError(f"preference dataset {spec['name']!r}: unknown format {spec['format']!r}")
        if not all(isinstance(part, list) and part for part in (prompt, chosen, rejected)):
            raise ValueError(f"preference dataset {spec['name']!r}: row {i} is not a {spec['format']} preference pair")
        pairs.append(_pair(prompt, chosen, rejected, spec["name"]))
    return pairs


# --------------------------------------------------------------------------- CLI


def _records(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Chat records validated as SFT data is: a malformed record fails the job, naming file and line."""
    return [r for p in paths for r in load_chat_file(p)[0]]


def _single_answers(model_dir: str | Path, cfg: dict[str, Any], prompts: Sequence[Messages]) -> list[str]:
    return [answer for (answer,) in generate_answers(model_dir, prompts, generation_settings(cfg, 1))]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


# The paper's three steps need three environments (vLLM generates, ArmoRM scores, TRL-side code
# builds pairs), so each is its own job and they hand over JSON lines. Within `generate`, one
# function per strategy: a model is released when the function that loaded it returns.


def _on_policy(sft_dir: str, sft_data: Sequence[str], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    prompts = [s["prompt"] for s in sample_prompts(_records(sft_data), cfg["n_prompts"], cfg["seed"])]
    candidates = generate_answers(sft_dir, prompts, generation_settings(cfg, cfg["n_candidates"]))
    return [{"strategy": "on_policy", "prompt": p, "candidates": c} for p, c in zip(prompts, candidates, strict=True)]


def _persona(sft_dir: str, block: dict[str, Any], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """One persona block: its records (or `n` of them, sampled), each answered by the block's model.

    The SFT model answers unless another model is named (Qwen3-0.6B for the Persona-Nemotron subsets).
    """
    records = _records(block["paths"])
    n = block.get("n")
    items = prompts_with_references(records) if n is None else sample_prompts(records, n, cfg["seed"])
    if n is not None and len(items) < n:
        raise ChatDataError(f"persona block {block['name']!r}: {len(items)} usable records in {block['paths']}, n is {n}")
    answers = _single_answers(block.get("model") or sft_dir, cfg, [s["prompt"] for s in items])
    return [
        {"strategy": "persona", "source": block["name"], **item, "generated": a}
        for item, a in zip(items, answers, strict=True)
    ]


def _two_model(two_model: dict[str, Any], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    prompts = [s["prompt"] for s in prompts_with_references(_records(two_model["paths"]))]
    chosen = _single_answers(two_model["chosen_model"], cfg, prompts)
    rejected = _single_answers(two_model["rejected_model"], cfg, prompts)
    return [
        {"strategy": "two_model", "prompt": p, "chosen": c, "rejected": r}
        for p, c, r in zip(prompts, chosen, rejected, strict=True)
    ]


def generate(sft_dir: str, sft_data: Sequence[str], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model-written answer the pairs need, in a fixed order (on-policy, persona blocks, two-model).

    `sft_data` is the SFT mixture itself (results/sft/), so on-policy prompts come from every source of
    Table 1, hub ones included.
    """
    strategies = cfg["strategies"]
    records: list[dict[str, Any]] = []
    if strategies.get("on_policy"):
        records += _on_policy(sft_dir, sft_data, cfg)
    for block in strategies.get("persona") or []:
        records += _persona(sft_dir, block, cfg)
    if strategies.get("two_model"):
        records += _two_model(strategies["two_model"], cfg)
    return records


def score(reward_dir: str, records: list[dict[str, Any]], cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Add `rewards` to the on-policy records: the only ones a reward model ranks."""
    on_policy = [r for r in records if r["strategy"] == "on_policy"]
    if on_policy:
        reward = cfg["reward"]
        scorer = RewardScorer(reward_dir, reward["batch_size"], reward["trust_remote_code"], reward["max_length"])
        rewards = scorer.score([r["prompt"] for r in on_policy], [r["candidates"] for r in on_policy])
        for record, values in zip(on_policy, rewards, strict=True):
            record["rewards"] = values
    return records


def build_pairs(records: Sequence[dict[str, Any]], cfg: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All pairs (on-policy, persona, two-model, extra datasets in config order) and their statistics."""
    by = {s: [r for r in records if r["strategy"] == s] for s in ("on_policy", "persona", "two_model")}
    on_policy = by["on_policy"]
    pairs, ties = best_worst_pairs([r["prompt"] for r in on_policy], [r["candidates"] for r in on_policy], [r["rewards"] for r in on_policy])
    for block in cfg["strategies"].get("persona") or []:
        items = [r for r in by["persona"] if r["source"] == block["name"]]
        pairs += reference_pairs(items, [r["generated"] for r in items], block["name"])
    two = by["two_model"]
    pairs += two_model_pairs([r["prompt"] for r in two], [r["chosen"] for r in two], [r["rejected"] for r in two], "two_model")
    for spec in cfg["strategies"].get("extra") or []:
        pairs += load_preference_dataset(spec)
    scored = [p for p in pairs if p["chosen_score"] is not None]
    stats = {
        "prompts": len(on_policy),
        "candidates": sum(len(r["candidates"]) for r in on_policy),
        "ties_dropped": ties,
        "pairs": len(pairs),
        "pairs_per_source": dict(Counter(p["source"] for p in pairs)),
        "paper_pairs": PAPER_PAIRS,
        "mean_chosen_reward": _mean([p["chosen_score"] for p in scored]),
        "mean_rejected_reward": _mean([p["rejected_score"] for p in scored]),
    }
    return pairs, stats


def format_sources(stats: dict[str, Any]) -> str:
    """Pairs per source and their total beside the paper's, for the job log."""
    lines = [f"{'source':<40} {'pairs':>10}"]
    lines += [f"{source[:40]:<40} {n:>10,}" for source, n in stats["pairs_per_source"].items()]
    lines.append(f"{'total':<40} {stats['pairs']:>10,}   (paper, section 4.3: {stats['paper_pairs']:,})")
    return "\n".join(lines)


def write_lines(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(dumps(row) + "\n")


def _read_lines(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, row, error in read_json_lines(path):
        if error:
            raise ValueError(f"{path}:{lineno}: {error}")
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    gen = steps.add_parser("generate", help="answers from the SFT model (and the strategies' models)")
    gen.add_argument("--sft", required=True, help="SFT model directory (the policy that samples candidates)")
    gen.add_argument("--sft-data", nargs="+", required=True, help="SFT chat JSONL(.gz) files to sample prompts from")
    sco = steps.add_parser("score", help="reward-model scores of the on-policy candidates")
    sco.add_argument("--reward", required=True, help="reward model directory")
    sco.add_argument("--generated", required=True)
    pai = steps.add_parser("pairs", help="chosen/rejected pairs and statistics")
    pai.add_argument("--scored", required=True)
    pai.add_argument("--stats", required=True, help="statistics JSON")
    for sub in (gen, sco, pai):
        sub.add_argument("--cfg-json", required=True, help="the preference config section as JSON")
        sub.add_argument("--out", required=True, help="JSON lines written by this step")
    args = parser.parse_args(argv)
    cfg = json.loads(args.cfg_json)
    if args.step == "generate":
        write_lines(args.out, generate(args.sft, args.sft_data, cfg))
    elif args.step == "score":
        write_lines(args.out, score(args.reward, _read_lines(args.generated), cfg))
    else:
        pairs, stats = build_pairs(_read_lines(args.scored), cfg)
        print(format_sources(stats), file=sys.stderr)
        write_lines(args.out, pairs)
        write_json(args.stats, stats)


if __name__ == "__main__":
    main()
