"""Deterministic synthetic WARC files that exercise every branch of the cleaning pipeline.

The workflow must run offline, so instead of downloading Common Crawl / Arquivo.pt
segments it generates small gzip WARCs whose pages are crafted to hit each filter:
pt-PT prose that must survive, pt-BR pages the URL filter must drop (and .pt hosts
that merely contain "br" that it must keep), other languages for language ID,
duplicates for exact and MinHash dedup, mojibake for ftfy, PII for anonymisation,
non-200 and non-HTML records for the WARC reader, an adult domain for the UT1 list,
short and repetitive pages for the quality filters, and a truncated final record.

Everything is derived from (collection, file_index, seed) through explicit hashes, so
the same arguments always give byte-identical files (Snakemake reruns, cache keys).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import struct
import unicodedata
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = ["ADULT_DOMAIN", "KINDS", "Page", "collection_pages", "write_synthetic_collection", "write_warc"]


@dataclass(frozen=True)
class Page:
    kind: str  # one of KINDS
    url: str
    status: int  # HTTP status
    content_type: str  # HTTP Content-Type
    body: bytes


KINDS: tuple[str, ...] = (
    "pt_pt",
    "pt_br_host",
    "pt_br_path",
    "br_substring_host",
    "english",
    "spanish",
    "galician",
    "boilerplate",
    "exact_dup",
    "near_dup",
    "mojibake",
    "pii",
    "http_404",
    "non_html",
    "adult",
    "short",
    "repetitive",
    "xhtml",
    "cross_dup",
)

# From datatrove's bundled UT1 blocklist (assets/url_filterblacklistsv0_3_0.tar.gz,
# member "domains"). Chosen because its name contains none of datatrove's banned
# (sub)words, so the page can only be dropped through the domain list itself.
ADULT_DOMAIN = "livejasmin.com"

# The cross-collection duplicate must be identical in every collection, so it is
# generated from this constant rather than from (collection, seed).
_CROSS_DUP_SEED = 20240229

_HTML_UTF8 = "text/html; charset=utf-8"
_BASE_DATE = datetime(2023, 3, 1, 9, 0, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- seeding


def _derive_seed(*parts: object) -> int:
    # random.Random(str) is stable too, but an explicit hash makes the derivation
    # independent of Python's seeding algorithm and of PYTHONHASHSEED.
    digest = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _record_id(collection: str, file_index: int, record_index: int, seed: int) -> str:
    digest = hashlib.sha256(f"{collection}\x1f{file_index}\x1f{record_index}\x1f{seed}".encode()).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"


def _slugify(text: str, max_len: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "x"


def _collection_tag(collection: str, file_index: int) -> str:
    # The "c-" prefix keeps a collection called e.g. "br" or "pt-br" from becoming a
    # whole path segment that the URL filter would block; the hash keeps collections
    # whose slugs collide ("A_b" vs "a-b") from producing the same URLs.
    short_hash = hashlib.sha1(collection.encode("utf-8")).hexdigest()[:6]
    return f"c-{_slugify(collection, 40)}-{short_hash}-f{file_index:03d}"


# --------------------------------------------------------------------------- template filling


@dataclass(frozen=True)
class _NP:
    """A noun phrase with its article, so prepositions contract correctly (de+o = do)."""

    art: str
    text: str

    def render(self, form: str) -> str:
        if form == "bare":
            return self.text
        if form == "":
            return f"{self.art} {self.text}" if self.art else self.text
        if form not in _PREPOSITIONS:
            raise ValueError(f"unknown noun-phrase form {form!r}")
        prep = _CONTRACTIONS.get((form, self.art)) or (f"{form} {self.art}" if self.art else form)
        return f"{prep} {self.text}"


_PREPOSITIONS = frozenset({"de", "em", "a", "por"})
_CONTRACTIONS: dict[tuple[str, str], str] = {
    ("de", "o"): "do", ("de", "a"): "da", ("de", "os"): "dos", ("de", "as"): "das",
    ("em", "o"): "no", ("em", "a"): "na", ("em", "os"): "nos", ("em", "as"): "nas",
    ("a", "o"): "ao", ("a", "a"): "à", ("a", "os"): "aos", ("a", "as"): "às",
    ("por", "o"): "pelo", ("por", "a"): "pela", ("por", "os"): "pelos", ("por", "as"): "pelas",
}  # fmt: skip


@dataclass(frozen=True)
class _Person:
    name: str
    female: bool
    cargo: str

    def render(self, form: str) -> str:
        if form == "cargo":
            return self.cargo
        if form == "o":
            return "a" if self.female else "o"
        if form:
            raise ValueError(f"unknown person form {form!r}")
        return self.name


_Value = str | _NP | _Person
_Provider = dict[str, Callable[[random.Random], _Value]]
_SLOT = re.compile(r"\{([a-z_]+?)(\d*)(?:\.([a-z]+))?\}")


def _render(value: _Value, form: str) -> str:
    if isinstance(value, str):
        if form:  # a template bug (e.g. "{rio.de}"): fail loudly instead of writing bad Portuguese
            raise ValueError(f"plain slot value cannot take form {form!r}")
        return value
    return value.render(form)


def _fill(template: str, rng: random.Random, provider: _Provider) -> str:
    chosen: dict[str, _Value] = {}

    def sub(match: re.Match[str]) -> str:
        base, num, form = match.group(1), match.group(2), match.group(3) or ""
        key = base + num
        if key not in chosen:
            taken = {v for k, v in chosen.items() if re.sub(r"\d+$", "", k) == base}
            value = provider[base](rng)
            for _ in range(20):  # "city" and "city2" in one sentence should differ
                if value not in taken:
                    break
                value = provider[base](rng)
            chosen[key] = value
        return _render(chosen[key], form)

    text = _SLOT.sub(sub, template)
    return text[:1].upper() + text[1:]


def _choice(options: list) -> Callable[[random.Random], _Value]:
    return lambda rng: rng.choice(options)


def _nps(spec: str) -> list[_NP]:
    # "o mercado municipal; a biblioteca" -> NPs; a leading "-" means no article.
    out = []
    for item in spec.split(";"):
        item = item.strip()
        if item.startswith("-"):
            out.append(_NP("", item[1:].strip()))
        else:
            art, _, text = item.partition(" ")
            out.append(_NP(art, text))
    return out


def _weighted_order(rng: random.Random, items: list, weights: list[float]) -> list:
    # Efraimidis-Spirakis: sampling without replacement so a page never repeats a
    # template (repeated templates would trip the Gopher duplicate n-gram filters).
    keyed = [(rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)]
    keyed.sort(reverse=True)
    return [items[i] for _, i in keyed]


# --------------------------------------------------------------------------- pt-PT vocabulary

_PT_CITIES = _nps(
    "-Lisboa; o Porto; -Coimbra; -Braga; -Aveiro; -Évora; -Faro; -Viseu; -Leiria; -Setúbal; "
    "-Guimarães; -Bragança; -Viana do Castelo; -Castelo Branco; -Portalegre; -Beja; -Santarém; "
    "-Tomar; -Lamego; -Chaves; a Covilhã; a Figueira da Foz; a Póvoa de Varzim; -Vila Real; "
    "-Peniche; a Nazaré; -Óbidos; -Amarante; -Barcelos; -Mirandela; -Elvas; -Estremoz; -Tavira; "
    "-Lagos; -Portimão; -Sines; -Ovar; -Ílhavo; o Funchal; -Ponta Delgada; -Angra do Heroísmo; "
    "-Montemor-o-Novo; -Seia; a Guarda; -Penafiel; -Valença; -Ponte de Lima; -Mértola; -Silves; "
    "-Loulé; -Olhão; -Almada; -Sintra; -Cascais; -Oeiras; -Matosinhos; -Vila Nova de Gaia; "
    "-Arcos de Valdevez; -Fafe; -Moura; -Serpa; -Alcobaça; -Torres Vedras; -Abrantes; -Pombal"
)
_PT_FIRST_M = (
    "João Rui Nuno Tiago Miguel Pedro Duarte Afonso Gonçalo Henrique Vasco Tomás Diogo Bernardo "
    "Rodrigo Francisco António Manuel José Joaquim Sérgio Hugo Filipe Fernando Luís Paulo Jorge "
    "Carlos Ricardo André Simão Martim Lourenço Salvador Gaspar"
).split()
_PT_FIRST_F = (
    "Maria Ana Inês Beatriz Leonor Matilde Carolina Mariana Joana Catarina Sofia Rita Teresa "
    "Filipa Margarida Marta Sara Helena Isabel Patrícia Cláudia Susana Raquel Lúcia Graça Fátima "
    "Rosa Madalena Constança Benedita Luísa Irene Alice Francisca Madalena"
).split()
_PT_SURNAMES = (
    "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Jesus Sousa Fernandes Gonçalves "
    "Gomes Lopes Marques Alves Almeida Ribeiro Pinto Carvalho Teixeira Moreira Correia Mendes Nunes "
    "Soares Vieira Monteiro Cardoso Rocha Neves Coelho Cruz Cunha Pires Ramos Reis Simões Antunes "
    "Matos Fonseca Machado Araújo Barbosa Tavares Lourenço Castro Figueiredo Azevedo Freitas "
    "Magalhães Sequeira Brandão Quintela Valente Calado Amaral Veloso Sampaio Louro Barros"
).split()
_PT_CARGOS: list[tuple[str, str]] = [
    ("engenheiro civil", "engenheira civil"),
    ("professor de História", "professora de História"),
    ("enfermeiro no hospital distrital", "enfermeira no hospital distrital"),
    ("presidente da junta de freguesia", "presidente da junta de freguesia"),
    ("motorista de autocarro", "motorista de autocarro"),
    ("revisor da CP", "revisora da CP"),
    ("agricultor", "agricultora"),
    ("comerciante no centro histórico", "comerciante no centro histórico"),
    ("investigador da Universidade de Coimbra", "investigadora da Universidade de Coimbra"),
    ("treinador da equipa local", "treinadora da equipa local"),
    ("médico de família", "médica de família"),
    ("arquiteto", "arquiteta"),
    ("chefe de cozinha", "chefe de cozinha"),
    ("bibliotecário", "bibliotecária"),
    ("pescador", "pescadora"),
    ("vereador da cultura", "vereadora da cultura"),
    ("técnico de informática", "técnica de informática"),
    ("dono de uma pastelaria", "dona de uma pastelaria"),
    ("reformado da função pública", "reformada da função pública"),
    ("estudante de Medicina", "estudante de Medicina"),
    ("jornalista", "jornalista"),
    ("economista", "economista"),
    ("guia turístico", "guia turística"),
    ("bombeiro voluntário", "bombeira voluntária"),
    ("farmacêutico", "farmacêutica"),
    ("padeiro", "padeira"),
    ("viticultor no Douro", "viticultora no Douro"),
    ("historiador", "historiadora"),
    ("diretor do agrupamento de escolas", "diretora do agrupamento de escolas"),
    ("dirigente associativo", "dirigente associativa"),
]
_PT_PLACES = _nps(
    "o mercado municipal; a biblioteca municipal; o centro de saúde; a escola secundária; "
    "o pavilhão desportivo; a estação de comboios; o terminal rodoviário; a praça central; "
    "o jardim público; o museu da cidade; a junta de freguesia; o cineteatro; a feira semanal; "
    "o parque de campismo; a piscina municipal; o porto de pesca; a zona ribeirinha; "
    "o largo da igreja; o centro histórico; a associação recreativa; o quartel dos bombeiros; "
    "a marginal; o miradouro; a antiga fábrica de conservas; o coreto; o lar de idosos; "
    "a universidade sénior; o posto de turismo; a adega cooperativa; o mosteiro; o castelo; "
    "a ponte romana; o antigo matadouro; a casa da cultura; o estádio municipal"
)
_PT_FOODS = _nps(
    "o bacalhau com natas; o caldo verde; os pastéis de nata; o arroz de pato; a francesinha; "
    "as sardinhas assadas; o polvo à lagareiro; o cozido à portuguesa; a açorda alentejana; "
    "as bifanas; o queijo da serra; o pão com chouriço; o leitão da Bairrada; "
    "as papas de sarrabulho; os ovos moles; a alheira de Mirandela; o arroz de marisco; "
    "a feijoada à transmontana; os caracóis; as tripas à moda do Porto; o bolo do caco; "
    "as queijadas de Sintra; as amêijoas à Bulhão Pato; a sopa da pedra; o cabrito assado; "
    "o ensopado de borrego; as migas alentejanas; o arroz doce; a sericaia; o pão de ló"
)
_PT_ORGS = _nps(
    "a Câmara Municipal; a Infraestruturas de Portugal; a CP; o Instituto Português do Mar e da Atmosfera; "
    "a Direção-Geral da Saúde; o Ministério da Educação; a associação de moradores; "
    "a Universidade do Minho; a Universidade de Évora; o Instituto Politécnico de Leiria; "
    "a Proteção Civil; a GNR; o Turismo de Portugal; a Agência Portuguesa do Ambiente; "
    "a comissão de festas; a cooperativa agrícola; o agrupamento de escolas; o Instituto Nacional de Estatística; "
    "a comunidade intermunicipal; a associação comercial; o centro de emprego; a Ordem dos Enfermeiros"
)
_PT_ASSUNTOS = _nps(
    "a requalificação da marginal; o novo horário dos autocarros; a falta de médicos de família; "
    "o preço da habitação; a seca no Alentejo; a reabertura da linha do Douro; "
    "a construção do novo hospital; o festival de verão; a recolha seletiva do lixo; "
    "a obra na ponte velha; a ciclovia junto ao rio; o encerramento da agência bancária; "
    "a chegada da fibra ótica às aldeias; a época de incêndios; o regresso às aulas; "
    "a vindima deste ano; a apanha da azeitona; a subida do preço dos combustíveis; "
    "a falta de professores; a nova lei das rendas; o campeonato distrital; a feira do livro; "
    "o alojamento local no centro histórico; o atraso crónico dos comboios suburbanos; "
    "o fecho da maternidade; a construção da variante; o parque de estacionamento subterrâneo; "
    "a mudança do mercado para a periferia; o orçamento participativo; a nova creche municipal"
)
_PT_RIOS = (
    "Tejo Douro Mondego Minho Lima Cávado Vouga Guadiana Sado Zêzere Tâmega Côa Paiva Ave Lis "
    "Tua Sabor Mira Arade Nabão Sorraia Alva Dão Ceira"
).split()
_PT_SERRAS = _nps(
    "a serra da Estrela; a serra do Marão; a serra da Lousã; a serra do Caramulo; "
    "a serra de Monchique; a serra da Arrábida; a serra do Gerês; a serra de Sintra; "
    "a serra do Açor; a serra da Gardunha; a serra de São Mamede; a serra do Alvão; "
    "a serra de Montemuro; a serra da Freita; a serra de Aire"
)
_PT_QUANDO = [
    "no ano passado", "na semana passada", "no último fim de semana", "há poucos dias",
    "no início do mês", "durante o verão", "no inverno passado", "em plena época de férias",
    "ontem à tarde", "na passada quinta-feira", "há cerca de um mês", "no final de março",
    "logo a seguir à Páscoa", "pouco antes do Natal", "na primeira semana de setembro",
    "ao longo da primavera", "nos últimos meses", "desde o início do ano",
]
_PT_MESES = "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split()
_PT_DIAS = _nps(
    "a segunda-feira; a terça-feira; a quarta-feira; a quinta-feira; a sexta-feira; o sábado; o domingo"
)
_PT_DIAS_PL = [
    "às segundas-feiras", "às terças-feiras", "às quartas-feiras", "às quintas-feiras",
    "às sextas-feiras", "aos sábados", "aos domingos", "ao fim de semana", "duas vezes por semana",
]
_PT_PAISES = ["a Suíça", "França", "o Luxemburgo", "a Alemanha", "Inglaterra", "o Canadá", "Andorra", "a Bélgica"]
_PT_DISCIPLINAS = "Matemática Português Físico-Química Inglês História Geografia Biologia Filosofia Informática".split()
_PT_CURSOS = [
    "Enfermagem Veterinária", "Energias Renováveis", "Turismo Rural", "Engenharia Alimentar",
    "Gestão Hoteleira", "Design de Equipamento", "Viticultura e Enologia", "Programação Web",
]


def _pt_person(rng: random.Random) -> _Person:
    female = rng.random() < 0.5
    first = rng.choice(_PT_FIRST_F if female else _PT_FIRST_M)
    name = f"{first} {rng.choice(_PT_SURNAMES)}"
    cargo = rng.choice(_PT_CARGOS)[1 if female else 0]
    return _Person(name, female, cargo)


def _pt_provider(page_city: _NP, page_person: _Person) -> _Provider:
    # A page keeps returning to one town and one interviewee, like a real article,
    # while other slots stay free so that pages differ from each other.
    def city(rng: random.Random) -> _Value:
        return page_city if rng.random() < 0.5 else rng.choice(_PT_CITIES)

    def person(rng: random.Random) -> _Value:
        return page_person if rng.random() < 0.5 else _pt_person(rng)

    def dec(lo: int, hi: int) -> Callable[[random.Random], str]:
        return lambda rng: f"{rng.randint(lo, hi)},{rng.randint(1, 9)}"

    def num(lo: int, hi: int) -> Callable[[random.Random], str]:
        return lambda rng: str(rng.randint(lo, hi))

    return {
        "city": city,
        "p": person,
        "place": _choice(_PT_PLACES),
        "food": _choice(_PT_FOODS),
        "org": _choice(_PT_ORGS),
        "assunto": _choice(_PT_ASSUNTOS),
        "rio": _choice(_PT_RIOS),
        "serra": _choice(_PT_SERRAS),
        "quando": _choice(_PT_QUANDO),
        "mes": _choice(_PT_MESES),
        "dia": _choice(_PT_DIAS),
        "dias": _choice(_PT_DIAS_PL),
        "pais": _choice(_PT_PAISES),
        "disciplina": _choice(_PT_DISCIPLINAS),
        "curso": _choice(_PT_CURSOS),
        "santo": _choice(["Santo António", "São João", "São Pedro"]),
        "data": lambda rng: f"{rng.randint(1, 28)} de {rng.choice(_PT_MESES)}",
        "hora": lambda rng: f"{rng.randint(6, 11)}h{rng.choice(['00', '15', '30', '45'])}",
        "horatarde": lambda rng: f"{rng.randint(17, 22)}h{rng.choice(['00', '15', '30', '45'])}",
        "n": num(3, 29),
        "nn": num(40, 2500),
        "pct": num(4, 85),
        "pctd": dec(3, 14),
        "ano": num(1890, 2005),
        "anorec": num(2010, 2023),
        "anofut": num(2025, 2030),
        "eur": num(20, 900),
        "eurc": lambda rng: f"{rng.randint(1, 3)},{rng.choice(['10', '20', '35', '50', '80', '95'])}",
        "milhoes": dec(1, 40),
        "km": num(3, 42),
        "golo": num(0, 6),
        "ord": num(2, 12),
        "temp": num(38, 45),
        "idade": _choice(["65", "70", "75", "80"]),
        "decada": _choice(["cinquenta", "sessenta", "setenta", "oitenta"]),
        "d": num(1, 28),
        "anoesc": num(5, 12),
    }


# Sentence bank, grouped by topic; a page favours two topics. Slots occur every few
# words so that two pages share few word 5-grams even when they reuse a template.
_PT_SENTENCES: dict[str, list[str]] = {
    "transportes": [
        "{quando}, o autocarro que liga {city} {city2.a} passou a ter apenas {n} ligações diárias, o que obriga muitos utentes a esperar mais de uma hora na paragem.",
        "{p}, {p.cargo}, contou-nos que apanha o comboio das {hora} todos os dias e que raramente chega a horas ao trabalho {city.em}.",
        "Segundo {org}, as obras na linha férrea {city.de} deverão estar concluídas até ao final de {mes}, mas ninguém na vila acredita nesse prazo.",
        "Os passageiros {city.de} estão a queixar-se da falta de informação nas estações, sobretudo quando os comboios são suprimidos sem aviso.",
        "A nova carreira de autocarro vai servir {n} freguesias do concelho e terá uma paragem junto {place.a}.",
        "Quem chega {city.a} de comboio encontra {place} a poucos minutos a pé, numa rua onde quase todas as lojas abriram nos últimos {n} anos.",
        "{p} deixou o carro em casa há {n} meses e desde então faz o percurso até {place.a} de bicicleta, mesmo nos dias de chuva.",
        "A autarquia garante que o passe mensal vai manter o preço de {eur} euros, apesar do aumento dos custos de exploração.",
        "No terminal rodoviário {city.de}, os horários afixados em papel continuam a ser mais fiáveis do que a aplicação para o telemóvel.",
        "Os motoristas da empresa de transportes marcaram uma greve para {dia.bare}, {data}, e pedem aumentos salariais de {pct} por cento.",
        "O elétrico que sobe a colina {city.de} voltou a circular depois de {n} semanas parado por causa de uma avaria nos carris.",
    ],
    "tecnologia": [
        "{p} passa grande parte do dia ao telemóvel a responder a mensagens de clientes, porque a loja {city.de} começou a vender pela internet em {anorec}.",
        "A rede móvel ainda falha em várias aldeias do concelho, e há quem tenha de subir {place.a} para conseguir fazer uma chamada.",
        "Segundo {org}, mais de {pct} por cento dos alunos já entrega os trabalhos de casa através de uma plataforma digital.",
        "A empresa, criada por {n} antigos colegas de curso, desenvolve programas informáticos para a gestão de explorações agrícolas {city.em}.",
        "{p} explicou-nos que o novo sistema de marcações online reduziu as filas à porta {place.de}, sobretudo às segundas-feiras.",
        "Ainda há muitos idosos que não sabem utilizar o multibanco nem o telemóvel, e a junta organizou aulas gratuitas {dias}.",
        "O ecrã do computador {place.de} está avariado há {n} semanas e os utilizadores continuam à espera de uma solução.",
        "A fibra ótica chegou finalmente {city.a} no início de {mes}, depois de anos de promessas por parte das operadoras.",
        "Os técnicos estiveram a testar a nova aplicação durante {n} dias antes de a disponibilizarem ao público.",
        "{p} disse-lhe que não percebia porque é que o portátil novo demorava tanto a ligar-se à rede da escola.",
        "Um grupo de estudantes {city.de} criou um robô que separa o lixo reciclável e vai apresentá-lo numa feira de ciência em {mes}.",
    ],
    "desporto": [
        "A equipa de futsal {city.de} venceu o jogo de sábado por {golo} a {golo2} e está agora a {n} pontos do primeiro lugar.",
        "{p}, {p.cargo}, treina os miúdos da formação {dias} e garante que o mais importante é que se divirtam.",
        "O campo de futebol {city.de} vai receber relva sintética, num investimento de {eur} mil euros aprovado pela assembleia municipal.",
        "Os adeptos {city.de} encheram as bancadas {place.de} e aplaudiram a equipa durante vários minutos no final do encontro.",
        "Depois de {n} anos longe dos relvados, {p} regressou à equipa técnica e diz que nunca teve tanta vontade de trabalhar.",
        "A corrida solidária juntou cerca de {nn} participantes, que percorreram {km} quilómetros entre {place} e {place2}.",
        "O clube está a preparar uma candidatura a fundos europeus para renovar os balneários, que não são remodelados desde {ano}.",
        "A volta regional em bicicleta passa este ano {serra.por}, com uma subida final de {km} quilómetros.",
        "Os jogadores treinaram à porta fechada durante a semana e o treinador recusou fazer comentários aos jornalistas {city.de}.",
        "A federação confirmou que {city} vai receber a final do campeonato nacional de juniores em {mes}.",
        "A equipa feminina de andebol {city.de} subiu ao {ord}.º lugar da tabela e joga {dia.em} fora de casa.",
    ],
    "gastronomia": [
        "Ao domingo, a família reúne-se à mesa para comer {food}, uma tradição que {p} herdou da avó.",
        "No restaurante {city.de}, o prato mais pedido continua a ser {food}, servido com vinho da casa e pão caseiro.",
        "{p} acorda às cinco da manhã para preparar o pão que vende ao pequeno-almoço aos trabalhadores {place.de}.",
        "A feira gastronómica recebeu {nn} visitantes em três dias, e houve quem fizesse mais de {km} quilómetros para provar {food}.",
        "O chefe explicou que o segredo {food.de} está no azeite, que vem de um lagar a poucos quilómetros {city.de}.",
        "Os preços do peixe na lota subiram {pct} por cento desde {mes}, o que está a preocupar os donos dos restaurantes da zona.",
        "Na pastelaria da esquina, o galão e a torrada continuam a custar menos de {eurc} euros, um preço cada vez mais raro.",
        "{p} aprendeu a fazer {food} com a mãe e hoje ensina a receita num curso que organiza {dias}.",
        "A câmara quer candidatar {food} a património gastronómico, à semelhança do que fizeram outros concelhos da região.",
        "Há quem diga que o sabor {food.de} é melhor no inverno, quando o frio aperta e as lareiras estão acesas {city.em}.",
        "Ao balcão da tasca, {p} serve {food} desde {ano} e recusa-se a mudar a receita original.",
    ],
    "cultura": [
        "O festival de música {city.de} regressa em {mes} com {n} concertos gratuitos espalhados pelas praças da cidade.",
        "{p}, {p.cargo}, está a escrever um livro sobre a história {place.de} e já reuniu mais de {nn} fotografias antigas.",
        "A exposição, patente {place.em} até ao final de {mes}, reúne obras de {n} artistas da região.",
        "A biblioteca {city.de} vai alargar o horário de funcionamento {dias}, atendendo aos pedidos dos leitores mais jovens.",
        "O grupo de teatro amador ensaia há {n} meses uma peça escrita por um antigo professor de {disciplina}.",
        "{quando}, o cineteatro {city.de} recebeu uma sessão especial dedicada ao cinema português, com a presença de vários realizadores.",
        "As marchas populares voltam a sair à rua na noite de {santo}, e {p} já está a coser os arcos da sua freguesia.",
        "O rancho folclórico {city.de} celebra este ano {n} anos de existência e prepara um espetáculo com trajes recuperados.",
        "Segundo {p}, a igreja matriz precisa de obras urgentes no telhado, que está a deixar entrar água há {n} invernos.",
        "Na feira do livro deste ano, os autores locais terão um espaço próprio junto {place.a}, com sessões de autógrafos {dias}.",
        "A banda filarmónica, fundada em {ano}, ensaia {dias} {place.em} e conta hoje com {n} músicos.",
    ],
    "economia": [
        "O desemprego no concelho desceu para {pctd} por cento, mas muitos jovens continuam a emigrar à procura de melhores salários.",
        "{p} abriu uma loja de bicicletas {city.em} em {anorec} e diz que o negócio cresceu sobretudo depois da pandemia.",
        "As rendas das casas {city.em} aumentaram {pct} por cento nos últimos dois anos, segundo dados {org.de}.",
        "A fábrica de calçado, que emprega {nn} pessoas, vai investir {milhoes} milhões de euros numa nova linha de produção.",
        "Os comerciantes {place.de} estão a queixar-se da falta de estacionamento e da concorrência das grandes superfícies.",
        "{org} anunciou um programa de apoio às pequenas empresas {city.de}, com candidaturas abertas até {data}.",
        "Muitos agricultores da região estão a apostar no mirtilo e no abacate, culturas que rendem mais por hectare do que a vinha.",
        "O preço do cabaz de compras subiu pelo {ord}.º mês consecutivo, o que está a pesar no orçamento das famílias {city.de}.",
        "Segundo {p}, {p.cargo}, a falta de trabalhadores qualificados é hoje o maior problema das empresas da região.",
        "O mercado {city.de} reabriu depois de {n} meses de obras e tem agora {nn} bancas, das quais metade ainda estão por ocupar.",
        "A cooperativa vendeu {nn} toneladas de azeite no ano passado, quase tudo para o Brasil e para Angola.",
    ],
    "ambiente": [
        "A seca deste ano obrigou os agricultores {city.de} a regar durante a noite para aproveitar ao máximo a pouca água disponível.",
        "{org} emitiu um aviso amarelo para o distrito {city.de} devido ao calor, com temperaturas que podem chegar aos {temp} graus.",
        "Os voluntários recolheram mais de {nn} quilos de lixo nas margens do rio {rio} durante a manhã de {dia.bare}.",
        "{p} plantou {nn} sobreiros num terreno que ardeu em {anorec} e espera ver a floresta recuperada daqui a vinte anos.",
        "A praia fluvial {city.de} voltou a receber a bandeira azul, depois de as análises à água do {rio} terem dado bons resultados.",
        "Os ninhos de cegonha no campanário da igreja {city.de} são uma das imagens mais fotografadas pelos turistas.",
        "A recolha seletiva de resíduos orgânicos chegou a {n} freguesias e a autarquia quer alargá-la a todo o concelho até {anofut}.",
        "{quando}, choveu mais em duas horas do que em todo o mês de {mes} do ano passado, e várias ruas {city.de} ficaram inundadas.",
        "Os pescadores {city.de} dizem que há cada vez menos sardinha junto à costa e culpam o aquecimento das águas do mar.",
        "A ciclovia junto ao rio {rio} vai ser prolongada em {km} quilómetros, ligando o centro {city.de} às praias.",
        "Os sapadores florestais estão a limpar os caminhos {serra.de} antes do início da época de incêndios.",
    ],
    "educacao": [
        "A escola secundária {city.de} tem {nn} alunos inscritos este ano, mais {n} do que no ano letivo anterior.",
        "{p}, {p.cargo}, lamenta que ainda haja turmas sem professor de {disciplina} a meio do período.",
        "Os alunos do {anoesc}.º ano estiveram a plantar árvores no recreio como parte de um projeto sobre alterações climáticas.",
        "Os exames nacionais de {disciplina} correram melhor do que o esperado, segundo a direção do agrupamento {city.de}.",
        "A cantina da escola passou a servir refeições com produtos locais, comprados diretamente aos agricultores {city.de}.",
        "{quando}, a associação de pais organizou uma recolha de manuais escolares usados que foram depois oferecidos às famílias.",
        "Muitos estudantes deslocados estão a ter dificuldade em encontrar quarto {city.em} por menos de {eur} euros por mês.",
        "O politécnico abriu um novo curso de {curso} que, segundo {p}, responde às necessidades das empresas da região.",
        "As aulas de natação para os alunos do primeiro ciclo decorrem {dias} na piscina {city.de}.",
        "A professora pediu-lhes que escrevessem uma redação sobre {assunto}, e os textos surpreenderam toda a gente.",
        "{p} dá explicações de {disciplina} na sala de estar e diz que nunca teve tantos alunos como este ano.",
    ],
    "saude": [
        "O centro de saúde {city.de} tem {nn} utentes sem médico de família, segundo os números mais recentes.",
        "{p}, {p.cargo}, explica que as urgências estão a receber muitos casos de gripe desde o início de {mes}.",
        "A farmácia da aldeia passou a fazer entregas ao domicílio aos utentes com mais de {idade} anos.",
        "A unidade móvel de saúde percorre {n} aldeias do concelho e faz rastreios gratuitos à tensão arterial e à diabetes.",
        "Os enfermeiros do hospital {city.de} estão a trabalhar horas extraordinárias para compensar a falta de pessoal.",
        "A campanha de vacinação arrancou {dia.em} e decorre até {data} em todos os centros de saúde do distrito.",
        "{quando}, o hospital {city.de} inaugurou um novo serviço de pediatria, com {n} camas e uma sala de brincar para as crianças.",
        "Segundo {org}, o número de consultas por telefone duplicou nos últimos {n} anos.",
        "{p} faz caminhadas de {km} quilómetros todas as manhãs por recomendação do médico de família.",
        "A associação de dadores de sangue organiza uma recolha {place.em} no próximo dia {d}.",
        "A nova unidade de cuidados continuados {city.de} abriu com {n} camas, mas já tem uma lista de espera de vários meses.",
    ],
    "turismo": [
        "No verão, a população {city.de} quase duplica com a chegada de turistas e de emigrantes que vêm passar as férias à terra.",
        "O posto de turismo {city.de} recebeu {nn} visitantes em {mes}, a maioria vindos de Espanha, França e Alemanha.",
        "{p} transformou a antiga casa dos avós num alojamento local com {n} quartos e vista para {serra}.",
        "Os percursos pedestres {serra.de} estão a atrair cada vez mais caminhantes, sobretudo na primavera e no outono.",
        "O miradouro, recuperado em {anorec}, tornou-se um dos locais preferidos para ver o pôr do sol sobre o rio {rio}.",
        "A autarquia {city.de} quer limitar o número de autocarros de turismo no centro histórico durante os meses de verão.",
        "Os barcos que fazem o passeio pelo rio {rio} partem do cais de hora a hora entre as {hora} e as {horatarde}.",
        "{quando}, vários hotéis da região registaram uma taxa de ocupação superior a {pct} por cento.",
        "O castelo {city.de}, classificado como monumento nacional, pode ser visitado gratuitamente ao primeiro domingo de cada mês.",
        "Quem visita {city} não deve partir sem provar {food} numa das tascas junto {place.a}.",
        "Um casal de {pais} comprou uma quinta abandonada perto {city.de} e está a recuperá-la para receber hóspedes.",
    ],
    "sociedade": [
        "O presidente da câmara garantiu, na reunião de {dia.bare}, que {assunto} vai avançar ainda este ano.",
        "Os moradores {city.de} estão a recolher assinaturas contra {assunto} e já juntaram mais de {nn} nomes.",
        "{p} disse-lhe que {assunto} era um tema antigo, discutido há mais de {n} anos nas reuniões da junta.",
        "Na assembleia municipal {city.de}, a oposição acusou o executivo de ter esquecido as freguesias mais afastadas do centro.",
        "A junta de freguesia vai gastar {eur} mil euros na reparação dos caminhos rurais danificados pelas chuvas de {mes}.",
        "Segundo {p}, {p.cargo}, o problema {assunto.de} só se resolve com mais investimento do Estado.",
        "Os bombeiros voluntários {city.de} receberam uma nova ambulância, oferecida por uma empresa da região.",
        "A população idosa representa já {pct} por cento dos habitantes {city.de}, um dos valores mais altos do país.",
        "{quando}, a GNR reforçou o patrulhamento nas aldeias {city.de} depois de uma série de furtos em casas desabitadas.",
        "O debate sobre {assunto} encheu o salão nobre {place.de}, e houve quem tivesse de assistir de pé.",
        "A associação de moradores pede há {n} anos um parque infantil para o bairro, mas o projeto continua na gaveta.",
    ],
    "quotidiano": [
        "{p} estava a ler o jornal no café quando o vizinho lhe perguntou se já tinha ouvido falar {assunto.de}.",
        "Ao fim da tarde, os mais velhos juntam-se no banco {place.de} a conversar sobre o tempo e sobre o futebol.",
        "{p} costuma dizer que {city} mudou muito desde a sua infância, mas que as pessoas continuam iguais.",
        "Perguntámos-lhe o que pensava {assunto.de} e a resposta foi rápida: é uma boa notícia, mas chega tarde.",
        "A neta ligou-lhe pelo telemóvel a meio da manhã para saber se precisava de alguma coisa da farmácia {city.de}.",
        "Nas ruas estreitas {city.de}, o cheiro a castanhas assadas anuncia a chegada do outono.",
        "{p} não esconde a emoção quando fala do pai, que trabalhou {n} anos na antiga fábrica de conservas.",
        "Durante a conversa, que durou mais de uma hora, {p} mostrou-nos fotografias {place.de} nos anos {decada}.",
        "O vizinho do lado está a pintar a fachada da casa com as cores originais, um azul que já quase ninguém usa {city.em}.",
        "Os filhos de {p} emigraram para {pais} e só voltam a casa no Natal e em agosto.",
        "Ficámos a saber que a padaria {city.de} vai fechar no fim de {mes}, depois de {n} anos de atividade.",
        "Quando lhe perguntámos se pensava sair {city.de}, {p} riu-se e disse-nos que dali só sai para o cemitério.",
        "Todas as manhãs, {p} apanha o autocarro das {hora} para ir tomar o pequeno-almoço com a irmã, que vive do outro lado do rio.",
        "No adro da igreja, as crianças estavam a jogar à bola enquanto os pais conversavam à sombra das árvores.",
    ],
}

_PT_TITLES = [
    "{city}: {assunto} preocupa moradores",
    "{assunto} avança {city.em} ainda este ano",
    "{city.em}, {p} mantém viva a tradição {food.de}",
    "{p}: «{city} mudou muito, mas as pessoas são as mesmas»",
    "Comboio, autocarro ou bicicleta? Como se desloca quem vive {city.em}",
    "{org} anuncia novas medidas para {city}",
    "Os segredos {food.de}, segundo quem cozinha há {n} anos",
    "Mais de {nn} pessoas na corrida solidária {city.de}",
    "Um fim de tarde {place.em} {city.de}",
    "Equipa {city.de} sobe ao {ord}.º lugar",
    "Rio {rio}: voluntários limpam margens durante o fim de semana",
    "Falta de médicos de família {city.em} afeta {nn} utentes",
    "{city} recebe festival com {n} concertos gratuitos",
    "O que muda {city.em} com {assunto}",
    "Perguntas e respostas sobre {assunto}",
    "{p}, {p.cargo}, e a vida entre {city} e {city2}",
    "Da horta à mesa: a aposta {food.de} nas escolas {city.de}",
    "Turismo {city.em} bate recorde em {mes}",
]

_PT_SECTIONS = [
    "sociedade", "local", "economia", "desporto", "cultura", "ambiente", "educacao",
    "saude", "turismo", "tecnologia", "opiniao", "regiao",
]
_PT_SITES: list[tuple[str, str]] = [
    ("www.jornal-da-planicie.pt", "Jornal da Planície"),
    ("www.gazeta-do-interior.pt", "Gazeta do Interior"),
    ("www.voz-do-litoral.pt", "Voz do Litoral"),
    ("noticias.correio-do-vale.pt", "Correio do Vale"),
    ("www.eco-da-serra.pt", "Eco da Serra"),
    ("www.noticias-do-sado.pt", "Notícias do Sado"),
    ("www.o-ribatejano-digital.pt", "O Ribatejano Digital"),
    ("www.terras-do-demo.pt", "Terras do Demo"),
    ("www.atlantico-diario.pt", "Atlântico Diário"),
    ("www.aldeias-vivas.org", "Aldeias Vivas"),
    ("www.cronicas-lusas.com", "Crónicas Lusas"),
    ("www.portugal-em-foco.com", "Portugal em Foco"),
]
# Portuguese hosts whose *name* merely contains "br"; a substring URL filter would drop them.
_BR_SUBSTRING_HOSTS: list[tuple[str, str]] = [
    ("www.brisa.pt", "Brisa"),
    ("portal.bragancanet.pt", "Bragança Net"),
    ("www.cabrita.pt", "Cabrita"),
    ("www.abrantes-hoje.pt", "Abrantes Hoje"),
    ("www.sobreiro-vivo.pt", "Sobreiro Vivo"),
]
_BR_SUBSTRING_PATHS = ["bricolage", "brinquedos", "sobremesas"]


@dataclass
class _Article:
    title: str
    paragraphs: list[list[str]]  # sentences per paragraph
    site: tuple[str, str]
    section: str


def _pt_sentence_pool(rng: random.Random) -> list[str]:
    topics = list(_PT_SENTENCES)
    favoured = set(rng.sample(topics, 2))
    items: list[str] = []
    weights: list[float] = []
    for topic, sentences in _PT_SENTENCES.items():
        for s in sentences:
            items.append(s)
            weights.append(5.0 if topic in favoured else 1.0)
    return _weighted_order(rng, items, weights)


def _group_paragraphs(rng: random.Random, sentences: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    i = 0
    while i < len(sentences):
        size = rng.randint(2, 4)
        paragraphs.append(sentences[i : i + size])
        i += size
    if len(paragraphs) > 1 and len(paragraphs[-1]) == 1:
        paragraphs[-2].extend(paragraphs.pop())
    return paragraphs


_LENGTHS = {"low": (80, 150), "medium": (170, 290), "high": (320, 580)}


def _pt_article(rng: random.Random, length: str, site: tuple[str, str] | None = None) -> _Article:
    provider = _pt_provider(rng.choice(_PT_CITIES), _pt_person(rng))
    lo, hi = _LENGTHS[length]
    target = rng.randint(lo, hi)
    sentences: list[str] = []
    words = 0
    for template in _pt_sentence_pool(rng):
        if words >= target and len(sentences) >= 5:
            break
        if words > lo and words + len(template.split()) > hi:
            continue
        sentence = _fill(template, rng, provider)
        sentences.append(sentence)
        words += len(sentence.split())
    title = _fill(rng.choice(_PT_TITLES), rng, provider)
    return _Article(
        title=title,
        paragraphs=_group_paragraphs(rng, sentences),
        site=site or rng.choice(_PT_SITES),
        section=rng.choice(_PT_SECTIONS),
    )


def _article_text(article: _Article) -> str:
    return "\n".join(" ".join(p) for p in article.paragraphs)


# --------------------------------------------------------------------------- HTML rendering

_e = html.escape

_NAV_PT = ["Início", "Sociedade", "Local", "Economia", "Desporto", "Cultura", "Opinião", "Contactos"]


def _paragraphs_html(paragraphs: list[list[str]]) -> str:
    return "\n".join(f"<p>{_e(' '.join(p))}</p>" for p in paragraphs)


def _render_pt_html(article: _Article) -> str:
    name = article.site[1]
    nav = "".join(f'<li><a href="/{_slugify(x)}/">{_e(x)}</a></li>' for x in _NAV_PT)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="pt-PT">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n"
        f'<meta name="description" content="{_e(article.paragraphs[0][0])}">\n'
        "</head>\n<body>\n"
        f'<header><a class="logo" href="/">{_e(name)}</a><nav><ul>{nav}</ul></nav></header>\n'
        "<main>\n<article>\n"
        f"<h1>{_e(article.title)}</h1>\n"
        f"{_paragraphs_html(article.paragraphs)}\n"
        "</article>\n</main>\n"
        f"<footer><p>© 2023 {_e(name)}. Todos os direitos reservados.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _render_boilerplate_html(article: _Article, rng: random.Random) -> str:
    name = article.site[1]
    menus = [
        ["Última hora", "Política", "Sociedade", "Economia", "Mundo", "Desporto", "Cultura", "Tecnologia",
         "Ciência", "Opinião", "Podcasts", "Vídeos", "Fotogalerias", "Newsletters", "Assinaturas"],
        ["Lisboa", "Porto", "Centro", "Norte", "Alentejo", "Algarve", "Madeira", "Açores"],
        ["Futebol", "Modalidades", "Ciclismo", "Automobilismo", "Ténis", "Resultados", "Classificações"],
    ]
    navs = "\n".join(
        '<nav class="menu"><ul>' + "".join(f'<li><a href="/{_slugify(x)}/">{_e(x)}</a></li>' for x in m) + "</ul></nav>"
        for m in menus
    )
    most_read = "".join(
        f'<li><a href="/artigo/{rng.randint(10000, 99999)}">{_e(t)}</a></li>'
        for t in rng.sample(
            ["Trânsito condicionado na ponte", "Previsão do tempo para o fim de semana", "Horários das farmácias de serviço",
             "Resultados da jornada", "Preço dos combustíveis volta a subir", "Agenda cultural da semana",
             "Concursos públicos abertos", "Greve nos transportes", "Classificação do campeonato"],
            6,
        )
    )
    share = "".join(
        f'<a class="share" href="#">{_e(x)}</a>'
        for x in ["Partilhar no Facebook", "Partilhar no X", "Partilhar no WhatsApp", "Enviar por e-mail", "Copiar ligação", "Imprimir"]
    )
    footer_cols = [
        ["Ficha técnica", "Estatuto editorial", "Código de conduta", "Quem somos", "Contactos"],
        ["Publicidade", "Assinaturas", "Loja", "Edição impressa", "Arquivo"],
        ["Política de privacidade", "Termos e condições", "Política de cookies", "Livro de reclamações"],
    ]
    footer = "".join(
        "<ul>" + "".join(f'<li><a href="/{_slugify(x)}/">{_e(x)}</a></li>' for x in col) + "</ul>" for col in footer_cols
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="pt-PT">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n"
        '<script>window.dataLayer = window.dataLayer || []; window.dataLayer.push({"pagina": "artigo"});</script>\n'
        "</head>\n<body>\n"
        '<div id="cookie-banner" class="cookies"><p>Este sítio utiliza cookies para melhorar a sua experiência de navegação, '
        "personalizar conteúdos e anúncios e analisar o tráfego. Ao continuar a navegar está a aceitar a sua utilização.</p>"
        '<button>Aceitar todos</button><button>Rejeitar</button><a href="/cookies/">Saber mais</a></div>\n'
        f'<header><a class="logo" href="/">{_e(name)}</a>\n{navs}\n'
        '<form class="pesquisa"><input type="search" placeholder="Pesquisar"><button>Pesquisar</button></form>'
        '<a href="/entrar/">Entrar</a> <a href="/assinar/">Assine já</a></header>\n'
        '<div class="breadcrumbs"><a href="/">Início</a> &gt; <a href="/sociedade/">Sociedade</a></div>\n'
        f'<div class="partilha">{share}</div>\n'
        "<main>\n<article>\n"
        f"<h1>{_e(article.title)}</h1>\n"
        f"{_paragraphs_html(article.paragraphs)}\n"
        "</article>\n"
        f'<div class="partilha">{share}</div>\n'
        '<div class="newsletter"><p>Subscreva a nossa newsletter</p><input type="email"><button>Subscrever</button></div>\n'
        f'<aside class="mais-lidas"><h2>Mais lidas</h2><ol>{most_read}</ol></aside>\n'
        '<div class="comentarios"><h2>Comentários</h2><p>Inicie sessão para comentar</p></div>\n'
        "</main>\n"
        f"<footer>{footer}<p>© 2023 {_e(name)}. Todos os direitos reservados.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _render_xhtml(article: _Article) -> str:
    name = article.site[1]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="pt-PT" lang="pt-PT">\n<head>\n'
        '<meta http-equiv="Content-Type" content="application/xhtml+xml; charset=UTF-8" />\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n</head>\n<body>\n"
        f'<div id="cabecalho"><a href="/">{_e(name)}</a></div>\n'
        f'<div id="conteudo">\n<h1>{_e(article.title)}</h1>\n{_paragraphs_html(article.paragraphs)}\n</div>\n'
        f'<div id="rodape"><p>© 2023 {_e(name)}.</p></div>\n'
        "</body>\n</html>\n"
    )


def _render_simple_html(lang: str, title: str, site_name: str, paragraphs: list[list[str]]) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)} | {_e(site_name)}</title>\n</head>\n'
        f'<body>\n<header><a href="/">{_e(site_name)}</a></header>\n<main>\n<article>\n<h1>{_e(title)}</h1>\n'
        f"{_paragraphs_html(paragraphs)}\n</article>\n</main>\n</body>\n</html>\n"
    )


def _mojibake(text: str) -> str:
    # UTF-8 bytes read as Windows-1252, the classic double-encoding. Bytes that cp1252
    # leaves undefined (e.g. 0x81 in "Á") fall back to Latin-1, as browsers and ftfy's
    # "sloppy-windows-1252" do, so every character survives and ftfy can undo it.
    out = []
    for b in text.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


# --------------------------------------------------------------------------- other languages

_BR_SENTENCES = [
    "O ônibus que liga o centro de {cidade} ao bairro {bairro} está sempre lotado no horário de pico, e os passageiros reclamam da demora.",
    "A gente estava tomando café da manhã quando a notícia apareceu no celular de {nome}.",
    "Você já reparou que o trem das {hora} nunca sai no horário? Pois é, os usuários estão cansados.",
    "A prefeitura de {cidade} anunciou que vai reformar {n} escolas municipais até o final do ano.",
    "O time do bairro ganhou o campeonato amador e a torcida fez uma festa que durou até de madrugada.",
    "Segundo {nome}, que é gerente de uma loja no shopping, as vendas aumentaram {n} por cento em relação ao ano passado.",
    "Muita gente está procurando apartamento para alugar em {cidade}, mas os preços estão subindo demais.",
    "No final de semana, a família foi para a praia e voltou tarde por causa do engarrafamento na rodovia.",
    "O registro do novo programa social pode ser feito pelo aplicativo, mas muitos usuários estão tendo problemas para acessar.",
    "A feira de artesanato de {cidade} reuniu {nn} expositores e atraiu turistas de vários estados.",
    "{nome} contou que está economizando para comprar uma geladeira nova, porque a antiga quebrou em {mes}.",
    "Os motoristas de aplicativo fizeram um protesto na avenida principal de {cidade} pedindo reajuste nas tarifas.",
    "O técnico do time disse na coletiva que o elenco está focado e que a torcida pode ficar tranquila.",
    "A temperatura deve passar dos {temp} graus nesta semana em {cidade}, segundo a previsão do tempo.",
    "Na padaria da esquina, o pão de queijo saiu do forno às seis da manhã e acabou antes das oito.",
    "A secretaria de saúde de {cidade} está fazendo uma campanha de vacinação nos postos de saúde dos bairros.",
]
_BR_CITIES = [
    "São Paulo", "Rio de Janeiro", "Belo Horizonte", "Salvador", "Recife", "Fortaleza", "Curitiba",
    "Porto Alegre", "Manaus", "Belém", "Goiânia", "Campinas", "Florianópolis", "Natal", "Vitória",
]
_BR_PROVIDER: _Provider = {
    "cidade": _choice(_BR_CITIES),
    "bairro": _choice(["Jardim América", "Vila Nova", "Boa Vista", "Santa Teresa", "Cidade Alta", "Parque das Flores"]),
    "nome": _choice(["Ana Paula", "Carlos Eduardo", "Fernanda", "Marcos Vinícius", "Juliana", "Thiago", "Camila", "Rafael"]),
    "hora": _choice(["7h10", "8h20", "17h45", "18h30"]),
    "mes": _choice(["março", "junho", "agosto", "novembro"]),
    "n": lambda rng: str(rng.randint(3, 40)),
    "nn": lambda rng: str(rng.randint(50, 900)),
    "temp": lambda rng: str(rng.randint(34, 41)),
}
_BR_HOSTS = [
    "www.noticias-exemplo.com.br", "www.jornal-da-cidade.com.br", "portal.gazeta-paulista.com.br",
    "www.folha-do-cerrado.com.br", "www.exemplo-noticias.org.br",
]
_BR_PATH_HOSTS = ["www.example.com", "www.global-news-network.com", "help.softwarecorp-example.com", "www.travel-guide-example.net"]

_EN_SENTENCES = [
    "The city council of {city} voted on {day} to extend the opening hours of the public library during the summer months.",
    "Residents have been complaining for years about the lack of parking near the old market, and the new plan promises {n} hundred extra spaces.",
    "According to {name}, who has run the bakery on the main street since {year}, business has never been better than it is now.",
    "The local football club won its third match in a row and is now only {n} points behind the league leaders.",
    "Heavy rain flooded several streets in the town centre last night, and the fire brigade was called out more than {n} times.",
    "A new cycle path along the river will connect the railway station with the university campus by the end of next year.",
    "Teachers at the secondary school say that class sizes have grown steadily while the number of support staff has fallen.",
    "The annual food festival attracted around {nn} visitors this weekend, many of whom travelled from neighbouring counties.",
    "{name} said that the biggest problem facing small businesses in {city} is the rising cost of energy and rent.",
    "Work on the new bridge is expected to start in {month}, although the contractor has not yet confirmed the schedule.",
    "Volunteers collected more than {nn} kilograms of litter from the beach during a clean-up organised by a local charity.",
    "The museum will reopen in {month} after a long renovation that cost the council almost {n} million pounds.",
    "Many young people are leaving the region because they cannot find affordable housing or well paid work nearby.",
    "The bus company announced that it would cut several evening services, a decision that angered commuters and shop workers.",
]
_EN_PROVIDER: _Provider = {
    "city": _choice(["Oxford", "Leeds", "Bristol", "York", "Norwich", "Exeter", "Bath", "Durham", "Chester", "Lincoln"]),
    "name": _choice(["Sarah Thompson", "James Walker", "Emily Clarke", "David Hughes", "Laura Bennett", "Michael Turner"]),
    "day": _choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
    "month": _choice(["March", "April", "June", "September", "October"]),
    "year": lambda rng: str(rng.randint(1975, 2015)),
    "n": lambda rng: str(rng.randint(2, 9)),
    "nn": lambda rng: str(rng.randint(200, 5000)),
}
_EN_HOSTS = ["www.daily-courier-example.com", "www.riverside-gazette.org", "news.county-herald-example.com"]

_ES_SENTENCES = [
    "El ayuntamiento de {city} aprobó el {day} un plan para renovar las calles del casco antiguo antes del verano.",
    "Los vecinos llevan años pidiendo más aparcamiento cerca del mercado, y el nuevo proyecto promete {n} cientos de plazas.",
    "Según {name}, que regenta una panadería en la calle mayor desde {year}, el negocio nunca había ido tan bien como ahora.",
    "El equipo de fútbol de la ciudad ganó su tercer partido seguido y ya está a solo {n} puntos del líder.",
    "La lluvia inundó varias calles del centro durante la noche y los bomberos tuvieron que salir más de {n} veces.",
    "Un nuevo carril bici junto al río unirá la estación de tren con el campus de la universidad a finales del año que viene.",
    "Los profesores del instituto aseguran que las aulas están cada vez más llenas y que faltan recursos para atender a los alumnos.",
    "La feria gastronómica atrajo a unos {nn} visitantes este fin de semana, muchos de ellos llegados de otras provincias.",
    "{name} explicó que el mayor problema de los pequeños comercios de {city} es la subida del precio de la luz y del alquiler.",
    "Las obras del nuevo puente empezarán en {month}, aunque la empresa constructora todavía no ha confirmado el calendario.",
    "Los voluntarios recogieron más de {nn} kilos de basura en la playa durante una jornada organizada por una asociación local.",
    "El museo volverá a abrir sus puertas en {month} después de una larga reforma que costó casi {n} millones de euros.",
    "Muchos jóvenes se marchan de la comarca porque no encuentran vivienda asequible ni trabajo bien pagado cerca de casa.",
    "La empresa de autobuses anunció que suprimirá varios servicios nocturnos, una decisión que ha molestado a los usuarios.",
]
_ES_PROVIDER: _Provider = {
    "city": _choice(["Salamanca", "Valladolid", "Zaragoza", "Córdoba", "Burgos", "León", "Cáceres", "Murcia", "Toledo", "Segovia"]),
    "name": _choice(["Carmen López", "Javier Martínez", "Lucía Fernández", "Álvaro Sánchez", "Marta Romero", "Pablo Jiménez"]),
    "day": _choice(["lunes", "martes", "miércoles", "jueves", "viernes"]),
    "month": _choice(["marzo", "abril", "junio", "septiembre", "octubre"]),
    "year": lambda rng: str(rng.randint(1975, 2015)),
    "n": lambda rng: str(rng.randint(2, 9)),
    "nn": lambda rng: str(rng.randint(200, 5000)),
}
_ES_HOSTS = ["www.diario-del-norte.es", "www.cronica-castellana.es", "noticias.el-periodico-local.es"]

# Galician is close to Portuguese, so the sentences lean on forms fastText keys on:
# xente, non, moi, unha, ao, cando, xa, tamén, aínda, dende, traballo, concello.
_GL_SENTENCES = [
    "O concello de {city} aprobou o {day} un plan para arranxar as rúas do casco vello antes do verán.",
    "Os veciños levan anos pedindo máis aparcadoiros preto da praza, e a xente xa non cre nas promesas do goberno local.",
    "Segundo {name}, que ten unha panadaría na rúa maior dende {year}, o negocio nunca foi tan ben coma agora.",
    "Cando chove moito, a auga entra nas casas da beiramar e os veciños teñen que sacala con baldes.",
    "A xente nova marcha da vila porque non atopa traballo nin vivenda a un prezo razoable.",
    "O equipo de fútbol gañou o terceiro partido seguido e xa está a só {n} puntos do primeiro posto.",
    "Os mestres do instituto din que as aulas están cada vez máis cheas e que aínda faltan recursos para atender ao alumnado.",
    "A festa do polbo xuntou unhas {nn} persoas este fin de semana, moitas delas chegadas doutras comarcas.",
    "{name} explicou que o maior problema dos pequenos comercios de {city} é a suba do prezo da luz e do aluguer.",
    "As obras da nova ponte comezarán en {month}, aínda que a empresa non confirmou o calendario.",
    "Os voluntarios recolleron máis de {nn} quilos de lixo na praia nunha xornada organizada por unha asociación veciñal.",
    "Tamén hai moita xente maior que vive soa nas aldeas e que precisa axuda para facer a compra.",
    "O museo volverá abrir en {month} despois dunha longa reforma, e os veciños están moi contentos coa noticia.",
    "Cando chega o verán, a vila enche de turistas e de emigrantes que veñen pasar as vacacións coa familia.",
    "Non é doado vivir da pesca hoxe en día, dixo {name} mentres amarraba a súa lancha no porto.",
    "A lingua galega óese cada vez menos nas rúas, pero moitos rapaces aprenden a falala na escola.",
]
_GL_PROVIDER: _Provider = {
    "city": _choice(["Lugo", "Ourense", "Pontevedra", "Vigo", "Ferrol", "Betanzos", "Ribadeo", "Viveiro", "Cangas", "Monforte de Lemos"]),
    "name": _choice(["Xosé Manuel Rodríguez", "Uxía Fernández", "Xoán Pérez", "Antía Vázquez", "Brais Otero", "Iria Castro"]),
    "day": _choice(["luns", "martes", "mércores", "xoves", "venres"]),
    "month": _choice(["marzo", "abril", "xuño", "setembro", "outubro"]),
    "year": lambda rng: str(rng.randint(1975, 2015)),
    "n": lambda rng: str(rng.randint(2, 9)),
    "nn": lambda rng: str(rng.randint(200, 5000)),
}
_GL_HOSTS = ["www.xornal-da-costa.gal", "www.novas-do-concello.gal", "www.a-voz-da-ria.gal"]

_LANGS: dict[str, tuple[list[str], _Provider, list[str], str, str]] = {
    # kind: (sentences, slot provider, hosts, html lang, title)
    "english": (_EN_SENTENCES, _EN_PROVIDER, _EN_HOSTS, "en", "Local news round-up"),
    "spanish": (_ES_SENTENCES, _ES_PROVIDER, _ES_HOSTS, "es", "Noticias de la comarca"),
    "galician": (_GL_SENTENCES, _GL_PROVIDER, _GL_HOSTS, "gl", "Novas da comarca"),
    "pt_br": (_BR_SENTENCES, _BR_PROVIDER, _BR_HOSTS, "pt-BR", "Notícias da cidade"),
}


def _foreign_paragraphs(rng: random.Random, lang: str, n_sentences: int) -> list[list[str]]:
    sentences, provider, *_ = _LANGS[lang]
    picked = rng.sample(sentences, min(n_sentences, len(sentences)))
    return _group_paragraphs(rng, [_fill(s, rng, provider) for s in picked])


# --------------------------------------------------------------------------- non-HTML payloads


def _png_bytes(rng: random.Random) -> bytes:
    # A valid (tiny) PNG so that sniffers and image libraries recognise it as such.
    width, height = 8, 8
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _pdf_bytes(rng: random.Random, title: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({_slugify(title)}) Tj ET".encode("ascii")
    noise = bytes(rng.randrange(256) for _ in range(64))
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
        + f"4 0 obj << /Length {len(stream) + len(noise)} >> stream\n".encode("ascii")
        + stream
        + noise
        + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


# --------------------------------------------------------------------------- page assembly


class _Builder:
    """Creates the pages of one WARC file; the serial number makes every URL unique."""

    def __init__(self, collection: str, file_index: int, rng: random.Random) -> None:
        self.tag = _collection_tag(collection, file_index)
        self.rng = rng
        self.serial = 0

    def _path(self, slug: str, ext: str = "html") -> str:
        self.serial += 1
        return f"{self.tag}-{self.serial:03d}-{slug}.{ext}"

    def article_url(self, article: _Article, host: str | None = None) -> str:
        return f"https://{host or article.site[0]}/{article.section}/{self._path(_slugify(article.title))}"

    def pt_page(self, kind: str, article: _Article, host: str | None = None, url: str | None = None) -> Page:
        body = _render_pt_html(article).encode("utf-8")
        return Page(kind, url or self.article_url(article, host), 200, _HTML_UTF8, body)

    def length(self) -> str:
        return self.rng.choices(["low", "medium", "high"], weights=[3, 3, 4])[0]

    # -- one method per kind ------------------------------------------------------

    def pt_br_host(self) -> Page:
        paragraphs = _foreign_paragraphs(self.rng, "pt_br", 8)
        host = self.rng.choice(_BR_HOSTS)
        title = "Notícias da cidade: " + paragraphs[0][0].split(",")[0][:60]
        body = _render_simple_html("pt-BR", title, host.split(".")[1], paragraphs)
        return Page("pt_br_host", f"https://{host}/noticias/{self._path(_slugify(title))}", 200, _HTML_UTF8, body.encode())

    def pt_br_path(self, segment: str) -> Page:
        paragraphs = _foreign_paragraphs(self.rng, "pt_br", 8)
        host = self.rng.choice(_BR_PATH_HOSTS)
        title = "Central de ajuda e notícias"
        body = _render_simple_html("pt-BR", title, host.split(".")[1], paragraphs)
        url = f"https://{host}/{segment}/{self._path('artigo')}"
        return Page("pt_br_path", url, 200, _HTML_UTF8, body.encode())

    def br_substring_host(self) -> Page:
        host, name = self.rng.choice(_BR_SUBSTRING_HOSTS)
        article = _pt_article(self.rng, self.length(), site=(host, name))
        return self.pt_page("br_substring_host", article)

    def br_substring_path(self) -> Page:
        site = self.rng.choice([s for s in _PT_SITES if s[0].endswith(".pt")])
        article = _pt_article(self.rng, self.length(), site=site)
        segment = self.rng.choice(_BR_SUBSTRING_PATHS)
        url = f"https://{article.site[0]}/{segment}/{self._path(_slugify(article.title))}"
        return self.pt_page("br_substring_host", article, url=url)

    def foreign(self, kind: str) -> Page:
        _, _, hosts, lang, title = _LANGS[kind]
        paragraphs = _foreign_paragraphs(self.rng, kind, self.rng.randint(8, 11))
        host = self.rng.choice(hosts)
        body = _render_simple_html(lang, title, host.split(".")[1], paragraphs)
        return Page(kind, f"https://{host}/news/{self._path(_slugify(title))}", 200, _HTML_UTF8, body.encode())

    def boilerplate(self) -> Page:
        article = _pt_article(self.rng, "high")
        body = _render_boilerplate_html(article, self.rng).encode("utf-8")
        return Page("boilerplate", self.article_url(article), 200, _HTML_UTF8, body)

    def near_dup(self, source: _Article) -> Page:
        paragraphs = [list(p) for p in source.paragraphs]
        # A few word-level edits plus one inserted sentence: what syndicated copies with
        # light editing look like, and still well above the MinHash threshold.
        swaps = [
            (" disse-nos ", " contou-nos "), (" cerca de ", " perto de "), (" mais de ", " para cima de "),
            (" muitos ", " vários "), (" ainda ", " até agora "), (" também ", " igualmente "),
            (" sobretudo ", " principalmente "), (" segundo ", " de acordo com "),
        ]
        edits = 0
        for old, new in self.rng.sample(swaps, len(swaps)):
            for p in paragraphs:
                for i, s in enumerate(p):
                    if edits < 2 and old in s:
                        p[i] = s.replace(old, new, 1)
                        edits += 1
        if edits == 0:  # no listed phrase present: alter the first number instead
            for p in paragraphs:
                for i, s in enumerate(p):
                    if edits == 0 and re.search(r"\d", s):
                        p[i] = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), s, count=1)
                        edits += 1
        extra = _fill(self.rng.choice(_PT_SENTENCES["quotidiano"]), self.rng, _pt_provider(self.rng.choice(_PT_CITIES), _pt_person(self.rng)))
        paragraphs[-1].append(extra)
        copy = _Article(source.title, paragraphs, source.site, source.section)
        return self.pt_page("near_dup", copy)

    def mojibake(self) -> Page:
        article = _pt_article(self.rng, self.rng.choice(["medium", "high"]))
        body = _mojibake(_render_pt_html(article)).encode("utf-8")
        return Page("mojibake", self.article_url(article), 200, _HTML_UTF8, body)

    def pii(self) -> Page:
        article = _pt_article(self.rng, "medium")
        person = _pt_person(self.rng)
        first, last = person.name.lower().split()[0], person.name.lower().split()[-1]
        user = _slugify(f"{first}.{last}", 40).replace("-", ".")
        domain = article.site[0].removeprefix("www.")
        contacts = [
            f"Para mais informações, os leitores podem escrever para geral@{domain} ou contactar diretamente "
            f"{person.name} através do endereço {user}@gmail.com.",
            "A linha de apoio funciona todos os dias úteis pelo número +351 912 345 678, e a secretaria atende "
            "no 212 345 678 entre as nove e as cinco da tarde.",
            "Quem liga do estrangeiro deve marcar o 00351 213456789, e as mensagens escritas podem ser enviadas para o 961234567.",
            "O formulário de inscrição foi publicado no servidor 185.32.4.17, mas na rede interna da associação "
            "continua disponível no endereço 192.168.1.20, segundo a equipa técnica.",
        ]
        paragraphs = [list(p) for p in article.paragraphs]
        paragraphs.insert(1, contacts[:2])
        paragraphs.append(contacts[2:])
        copy = _Article(article.title, paragraphs, article.site, article.section)
        return self.pt_page("pii", copy)

    def http_404(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        suggestions = _pt_article(self.rng, "low").paragraphs[0]
        paragraphs = [
            [
                "Lamentamos, mas a página que procura não foi encontrada no nosso sítio.",
                "É possível que o endereço tenha sido escrito de forma incorreta, que o artigo tenha sido removido "
                "ou que a ligação que seguiu esteja desatualizada.",
            ],
            [
                "Verifique se o endereço está correto e tente novamente dentro de alguns minutos.",
                "Se o problema persistir, pode voltar à página inicial e utilizar a pesquisa para encontrar o "
                "conteúdo que deseja, ou consultar o arquivo de notícias organizado por data e por secção.",
            ],
            [
                f"A equipa do {name} pede desculpa pelo incómodo e agradece a sua compreensão.",
                "Enquanto isso, deixamos-lhe algumas das notícias que estão a ser mais lidas pelos nossos leitores.",
                *suggestions,
            ],
        ]
        body = _render_simple_html("pt-PT", "Página não encontrada (erro 404)", name, paragraphs)
        url = f"https://{host}/{self.rng.choice(_PT_SECTIONS)}/{self._path('artigo-removido')}"
        return Page("http_404", url, 404, _HTML_UTF8, body.encode())

    def non_html(self) -> list[Page]:
        host = self.rng.choice(_PT_SITES)[0]
        article = _pt_article(self.rng, "low")
        doc = {
            "id": self.rng.randint(1000, 99999),
            "titulo": article.title,
            "texto": _article_text(article),
            "publicado": "2023-03-01T09:00:00Z",
        }
        return [
            Page("non_html", f"https://{host}/documentos/{self._path('relatorio-anual', 'pdf')}", 200,
                 "application/pdf", _pdf_bytes(self.rng, article.title)),
            Page("non_html", f"https://{host}/imagens/{self._path('fotografia', 'png')}", 200, "image/png", _png_bytes(self.rng)),
            Page("non_html", f"https://{host}/api/artigos/{self._path('artigo', 'json')}", 200,
                 "application/json; charset=utf-8", json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")),
        ]  # fmt: skip

    def adult(self) -> Page:
        article = _pt_article(self.rng, "medium", site=(f"www.{ADULT_DOMAIN}", "Portal"))
        return self.pt_page("adult", article, url=f"https://www.{ADULT_DOMAIN}/pt/{self._path(_slugify(article.title))}")

    def short(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        text = self.rng.choice(["Página em construção. Volte em breve.", "Brevemente novidades.", "Obrigado pela visita."])
        body = _render_simple_html("pt-PT", "Em breve", name, [[text]])
        return Page("short", f"https://{host}/{self._path('em-breve')}", 200, _HTML_UTF8, body.encode())

    def repetitive(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        lines = _pt_article(self.rng, "low").paragraphs[0][:3]
        paragraphs = [[line] for _ in range(25) for line in lines]
        body = _render_simple_html("pt-PT", "Promoções da semana", name, paragraphs)
        return Page("repetitive", f"https://{host}/promocoes/{self._path('promocoes-da-semana')}", 200, _HTML_UTF8, body.encode())

    def xhtml(self) -> Page:
        article = _pt_article(self.rng, self.length())
        body = _render_xhtml(article).encode("utf-8")
        return Page("xhtml", self.article_url(article), 200, "application/xhtml+xml; charset=utf-8", body)


def collection_pages(collection: str, file_index: int, seed: int, pages_per_file: int) -> list[Page]:
    """All pages of one synthetic WARC file, in record order.

    Every file holds every kind (cross_dup only in file 0) plus extra pt_pt pages up to
    pages_per_file; the last page is always an extra pt_pt page, so truncating the
    final record never removes a kind from the file.
    """
    rng = random.Random(_derive_seed("synthetic", collection, file_index, seed))
    b = _Builder(collection, file_index, rng)

    # The near-duplicate needs a long source so that a few edits stay above 0.8 Jaccard.
    near_source = _pt_article(rng, "high")
    pt_articles: list[_Article] = [near_source]
    others: list[Page] = [
        b.pt_br_host(),
        b.pt_br_path("pt-br"),
        b.pt_br_path("pt_br"),
        b.br_substring_host(),
        b.br_substring_path(),
        b.foreign("english"),
        b.foreign("spanish"),
        b.foreign("galician"),
        b.boilerplate(),
        b.mojibake(),
        b.pii(),
        b.http_404(),
        *b.non_html(),
        b.adult(),
        b.short(),
        b.repetitive(),
        b.xhtml(),
    ]
    if file_index == 0:
        fixed = random.Random(_CROSS_DUP_SEED)
        shared = _pt_article(fixed, "high")
        others.append(b.pt_page("cross_dup", shared))

    n_required = 1 + len(others) + 2 + 1  # source + others + two duplicates + trailing page
    for _ in range(max(0, pages_per_file - n_required)):
        pt_articles.append(_pt_article(rng, b.length()))

    pt_pages = [b.pt_page("pt_pt", a) for a in pt_articles]
    order: list[Page] = pt_pages + others
    rng.shuffle(order)

    # Duplicates go after their source, as a crawler would meet them.
    pos = order.index(pt_pages[0])
    order.insert(rng.randint(pos + 1, len(order)), b.near_dup(near_source))
    k = rng.randrange(1, len(pt_pages)) if len(pt_pages) > 1 else 0
    exact = Page("exact_dup", b.article_url(pt_articles[k]), 200, pt_pages[k].content_type, pt_pages[k].body)
    pos = order.index(pt_pages[k])
    order.insert(rng.randint(pos + 1, len(order)), exact)

    order.append(b.pt_page("pt_pt", _pt_article(rng, "high")))
    return order


# --------------------------------------------------------------------------- WARC writing

_REASONS = {200: "OK", 404: "Not Found"}


def write_warc(
    path: Path,
    pages: list[Page],
    collection: str,
    file_index: int,
    seed: int,
    truncate_last: bool = False,
) -> None:
    """Write pages as gzip WARC response records, atomically.

    With truncate_last the final gzip member is cut inside its payload, reproducing the
    partially downloaded segments that real crawls contain.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            # warcio compresses each record with zlib.compressobj(wbits=31), whose gzip
            # header has mtime 0 and no file name, so output bytes are reproducible.
            writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
            last_start = 0
            for i, page in enumerate(pages):
                date = _BASE_DATE + timedelta(days=file_index, seconds=37 * i)
                http_headers = StatusAndHeaders(
                    f"{page.status} {_REASONS.get(page.status, 'Unknown')}",
                    [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))],
                    protocol="HTTP/1.1",
                )
                record = writer.create_warc_record(
                    page.url,
                    "response",
                    payload=BytesIO(page.body),
                    http_headers=http_headers,
                    warc_headers_dict={
                        "WARC-Record-ID": _record_id(collection, file_index, i, seed),
                        "WARC-Date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                )
                last_start = fh.tell()
                writer.write_record(record)
            if truncate_last and pages:
                end = fh.tell()
                # Past the compressed headers (which are small) and before the member's
                # end, so the reader sees a record whose payload stops short.
                cut = last_start + max(1, (end - last_start) * 3 // 5)
                fh.truncate(cut)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_synthetic_collection(paths: list[Path], collection: str, seed: int, pages_per_file: int) -> None:
    """One WARC per path (file_index = position); the last file ends in a truncated record."""
    for file_index, path in enumerate(paths):
        pages = collection_pages(collection, file_index, seed, pages_per_file)
        write_warc(Path(path), pages, collection, file_index, seed, truncate_last=file_index == len(paths) - 1)
