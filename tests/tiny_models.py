"""Tiny, locally built stand-ins for the models the pipeline downloads.

The real quality classifier (``utter-project/EuroFilter-v1``, an mdeberta-v3-base
with custom modelling code) cannot be fetched in tests or offline runs, so this
module builds a *structurally faithful* miniature of it from scratch:

* a real ``tokenizers`` WordPiece tokenizer (vocabulary learnt here from
  built-in Portuguese text),
  wrapped as a ``PreTrainedTokenizerFast`` so ``AutoTokenizer`` loads it;
* a real transformer encoder (a few thousand parameters) whose weights are
  random but deterministic for a given seed;
* optionally (``remote_code=True``) custom modelling code shipped *inside the
  model directory* and wired through ``auto_map``, so loading it exercises the
  same ``trust_remote_code=True`` path as EuroFilter, and the forward output
  exposes ``quality_logits`` [B, 3] plus an ``educational_score`` [B] like
  EuroFilter does.

The predictions are meaningless (weights are untrained); the point is that the
classification code path -- tokenisation, truncation, batching, remote code,
output parsing -- runs for real, end to end, without network access.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Built-in training text for the tiny tokenizer. A few dozen European-Portuguese
# sentences give a WordPiece vocabulary of a few hundred entries (capped at 500);
# unseen words fall back to character pieces, unseen characters to [UNK], which
# is fine for a test model.
_PT_SENTENCES: tuple[str, ...] = (
    "O Tejo atravessa Lisboa antes de desaguar no oceano Atlântico.",
    "A Universidade de Coimbra é uma das mais antigas da Europa.",
    "O comboio para o Porto parte da estação de Santa Apolónia às nove horas.",
    "Os pastéis de nata são um doce tradicional português.",
    "A língua portuguesa é falada em vários continentes.",
    "O Governo aprovou ontem o orçamento do Estado para o próximo ano.",
    "Os alunos estudaram matemática, história e ciências naturais.",
    "A fotossíntese transforma a energia da luz em energia química.",
    "Fernando Pessoa escreveu poemas com vários heterónimos.",
    "O fado é um género musical reconhecido pela UNESCO.",
    "A câmara municipal anunciou obras na avenida principal.",
    "Compre já! Promoção imperdível, descontos de cinquenta por cento!",
    "Clique aqui para ganhar um telemóvel novo.",
    "O clima do Algarve é ameno durante grande parte do ano.",
    "Os Descobrimentos marcaram a história de Portugal no século quinze.",
    "A equipa venceu o campeonato depois de um jogo muito disputado.",
    "A água ferve a cem graus Celsius ao nível do mar.",
    "O médico recomendou descanso e uma alimentação equilibrada.",
    "Na aldeia, as pessoas reúnem-se na praça ao fim da tarde.",
    "O Parlamento discutiu a nova lei sobre a habitação.",
    "A biblioteca nacional guarda manuscritos muito valiosos.",
    "As células são a unidade básica de todos os seres vivos.",
    "O vinho do Porto é produzido na região demarcada do Douro.",
    "A professora explicou a equação passo a passo aos estudantes.",
    "Os Açores e a Madeira são regiões autónomas de Portugal.",
    "O museu abriu uma exposição sobre azulejos portugueses.",
    "A economia cresceu dois por cento no último trimestre.",
    "Para resolver o problema, é preciso dividir o total por três.",
    "O autocarro chegou atrasado por causa do trânsito.",
    "A ponte Vinte e Cinco de Abril liga Lisboa a Almada.",
    "Os investigadores publicaram um estudo sobre as alterações climáticas.",
    "Ele gosta de ler o jornal enquanto toma o pequeno-almoço.",
    "A Constituição da República Portuguesa foi aprovada em 1976.",
    "Menu | Início | Contactos | Política de privacidade",
    "Todos os direitos reservados. Termos e condições.",
    "A energia solar e a energia eólica são fontes renováveis.",
    "O romance de Eça de Queirós retrata a sociedade do século dezanove.",
    "A escola organizou uma visita de estudo ao centro de ciência.",
    "Os preços da habitação subiram nas grandes cidades.",
    "Quantos quilómetros faltam até Braga? Ainda faltam cinquenta.",
)

_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

# Architecture of the tiny encoder. max_position_embeddings must be >= the
# 512-token truncation the classifier applies, otherwise long documents would
# index past the position table instead of exercising truncation.
_TINY_ENCODER = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=512,
    # Larger than BERT's 0.02 so untrained logits are clearly separated: the
    # argmax label is then stable under float noise (e.g. batch padding).
    initializer_range=0.2,
)

_QUALITY_LABELS = {0: "low", 1: "medium", 2: "high"}

# --- remote code written into the model directory --------------------------
# Kept as source strings because it must live *in the model directory* for
# trust_remote_code loading, exactly like EuroFilter's files on the Hub.

_CONFIGURATION_SRC = '''\
"""Configuration of the tiny EuroFilter stand-in (see tests/tiny_models.py)."""
from transformers import BertConfig


class TinyEuroFilterConfig(BertConfig):
    # A distinct model_type: transformers cannot resolve it by itself, so
    # loading must go through auto_map + trust_remote_code, like EuroFilter.
    model_type = "tiny_eurofilter"
'''

_MODELING_SRC = '''\
"""Modelling code of the tiny EuroFilter stand-in (see tests/tiny_models.py).

Mimics EuroFilter's interface: an encoder with several heads whose output is a
ModelOutput carrying ``quality_logits`` [B, 3] (0=low, 1=medium, 2=high) and an
``educational_score`` [B] regression value.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from transformers import BertModel, PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_tiny_eurofilter import TinyEuroFilterConfig


@dataclass
class TinyEuroFilterOutput(ModelOutput):
    quality_logits: Optional[torch.FloatTensor] = None
    educational_score: Optional[torch.FloatTensor] = None


class TinyEuroFilterForQuality(PreTrainedModel):
    config_class = TinyEuroFilterConfig
    base_model_prefix = "encoder"

    def __init__(self, config):
        super().__init__(config)
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.quality_head = nn.Linear(config.hidden_size, 3)
        self.educational_head = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def _init_weights(self, module):
        # Plain normal init, drawn from the global torch RNG so that
        # torch.manual_seed(seed) fully determines the weights.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        cls = hidden[:, 0]  # first ([CLS]) token summarises the document
        return TinyEuroFilterOutput(
            quality_logits=self.quality_head(cls),
            educational_score=self.educational_head(cls).squeeze(-1),
        )
'''


def _build_tokenizer(out_dir: Path) -> PreTrainedTokenizerFast:
    import string
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    # Lowercase but keep accents: accents are meaningful in Portuguese.
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    # "Train" the WordPiece vocabulary by counting, not with WordPieceTrainer:
    # the tokenizers trainers break frequency ties in hash-map order, so two
    # runs on the same corpus give different vocabularies (measured: 399/500
    # ids differ) -- and then "same seed => same model" would be false, since
    # the same text would map to different embedding rows. Counting with an
    # explicit (-count, word) tie-break is fully deterministic.
    word_counts: Counter[str] = Counter()
    for sentence in _PT_SENTENCES:
        words = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence))
        word_counts.update(word for word, _ in words)
    # Seen characters plus ASCII letters, digits and punctuation, so ordinary
    # text outside the corpus still tokenises into pieces rather than [UNK].
    seen_chars = {c for word in word_counts for c in word}
    chars = sorted(seen_chars | set(string.ascii_lowercase + string.digits + string.punctuation))
    # Every character both as a word start and as a "##" continuation, so any
    # word made of seen characters is tokenisable (longest-match WordPiece);
    # then whole words by frequency until the ~500-entry budget is used up.
    vocab_list = list(_SPECIAL_TOKENS) + chars + [f"##{c}" for c in chars]
    known = set(vocab_list)
    for word, _ in sorted(word_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab_list) >= 500:
            break
        if word not in known:
            vocab_list.append(word)
            known.add(word)
    vocab = {token: i for i, token in enumerate(vocab_list)}

    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece()
    # BERT-style framing so that position 0 is [CLS], which the heads read.
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_quality_classifier(out_dir: Path, seed: int = 0, remote_code: bool = True) -> Path:
    """Build a tiny 3-class (low/medium/high) text classifier into ``out_dir``.

    Loadable with ``AutoTokenizer`` / ``AutoModelForSequenceClassification
    .from_pretrained(out_dir, trust_remote_code=True)``. With ``remote_code``
    the directory carries its own modelling code (EuroFilter-like output with
    ``quality_logits``); without it, it is a plain ``BertForSequenceClassification``
    (output ``.logits``). Same seed => identical weights. Returns ``out_dir``.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer(out_dir)

    common = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(_QUALITY_LABELS),
        label2id={v: k for k, v in _QUALITY_LABELS.items()},
        **_TINY_ENCODER,
    )

    if not remote_code:
        torch.manual_seed(seed)
        model = BertForSequenceClassification(BertConfig(**common))
        model.save_pretrained(out_dir)
        return out_dir

    # Write the custom code next to the weights, then import it through the
    # same dynamic-module machinery trust_remote_code uses. The classes are
    # instantiated directly rather than via AutoModel*.from_config: that would
    # register them in the process-wide Auto mappings, and a later load of this
    # directory in the same process would then reuse the registered class even
    # if the modelling file had been edited in between.
    (out_dir / "configuration_tiny_eurofilter.py").write_text(_CONFIGURATION_SRC, encoding="utf-8")
    (out_dir / "modeling_tiny_eurofilter.py").write_text(_MODELING_SRC, encoding="utf-8")
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    config_cls = get_class_from_dynamic_module("configuration_tiny_eurofilter.TinyEuroFilterConfig", str(out_dir))
    model_cls = get_class_from_dynamic_module("modeling_tiny_eurofilter.TinyEuroFilterForQuality", str(out_dir))
    config = config_cls(**common)
    # auto_map is what lets AutoConfig/AutoModelForSequenceClassification find
    # the classes in this directory when loading with trust_remote_code=True.
    config.auto_map = {
        "AutoConfig": "configuration_tiny_eurofilter.TinyEuroFilterConfig",
        "AutoModelForSequenceClassification": "modeling_tiny_eurofilter.TinyEuroFilterForQuality",
    }
    torch.manual_seed(seed)
    model = model_cls(config)
    model.save_pretrained(out_dir)  # writes config.json (with auto_map) and the weights
    return out_dir


def build_tiny_guard(out_dir: Path, corpus: list[str], records: list[dict] = (), answers: list[str] = (), seed: int = 0) -> Path:
    """A ChatML tokenizer (trained on `corpus`) and a tiny Llama, saved to out_dir: random weights,
    or, given `records` and their `answers`, taught (100 Adam steps on one padded batch) to answer
    each (prompt, response) record with its answer, as Qwen3Guard answers with its verdict."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from amalia_wf.genbench.safety import render_guard_inputs
    from amalia_wf.train.tokenizer import IM_END, train_bpe
    from tests.conftest import TINY_LLAMA

    texts = list(corpus) + [r[k] for r in records for k in ("prompt", "response")] + list(answers)
    tok = train_bpe(texts * 5, 300, out_dir)
    torch.manual_seed(seed)
    cfg = LlamaConfig(**TINY_LLAMA, vocab_size=len(tok), eos_token_id=tok.convert_tokens_to_ids(IM_END),
                      pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(cfg)
    if records:
        rows = []
        for text, target in zip(render_guard_inputs(tok, records), answers, strict=True):
            prompt_ids = tok(text, add_special_tokens=False)["input_ids"]
            target_ids = tok(target + IM_END, add_special_tokens=False)["input_ids"]
            rows.append((prompt_ids + target_ids, [-100] * len(prompt_ids) + target_ids))  # loss on the answer only
        width = max(len(ids) for ids, _ in rows)
        pad = [width - len(ids) for ids, _ in rows]
        ids = torch.tensor([r[0] + [tok.pad_token_id] * p for r, p in zip(rows, pad, strict=True)])
        labels = torch.tensor([r[1] + [-100] * p for r, p in zip(rows, pad, strict=True)])
        mask = torch.tensor([[1] * len(r[0]) + [0] * p for r, p in zip(rows, pad, strict=True)])
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(100):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.save_pretrained(out_dir)
    return out_dir
