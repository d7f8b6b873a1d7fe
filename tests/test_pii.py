"""PII masking: datatrove's e-mail and public-IP replacers plus Portuguese phone numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from amalia_wf.data.pii import PiiMasker

REPO = Path(__file__).resolve().parent.parent
CFG = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))["data"]["pii"]
EMAIL, IP, PHONE = CFG["email_replacement"], CFG["ip_replacement"], CFG["phone_replacement"]


@pytest.fixture
def masker() -> PiiMasker:
    return PiiMasker(CFG)


def test_emails_are_masked(masker):
    text, phones = masker.mask("Escreva para joao.silva@exemplo.pt ou ana_m+info@sapo.pt.")
    assert text == f"Escreva para {EMAIL} ou {EMAIL}."
    assert phones == 0


def test_public_ips_are_masked_private_kept(masker):
    text, _ = masker.mask("Servidores 8.8.8.8 e 193.136.1.2; rede interna 192.168.1.20, 10.0.0.1 e 127.0.0.1.")
    assert text == f"Servidores {IP} e {IP}; rede interna 192.168.1.20, 10.0.0.1 e 127.0.0.1."


@pytest.mark.parametrize(
    "number",
    ["+351 912 345 678", "212 345 678", "00351 213456789", "961234567", "+351-213-456-789", "+351.934.567.890"],
)
def test_portuguese_phone_numbers_are_masked(masker, number):
    assert masker.mask(f"Ligue para {number}, por favor.") == (f"Ligue para {PHONE}, por favor.", 1)


@pytest.mark.parametrize(
    "text",
    [
        "Código postal 1000-001 Lisboa",
        "Em 2020, 1999 e 2024 houve eleições.",
        "Referência 123456789012 do pagamento",
        "NIF 512 345 678",
        "Contribuinte 123456789",
        "Conta 212345678901",  # 12 digits: not a 9-digit number
        "Valor 9123456789",  # 10 digits
        "rede 192.168.1.20",
    ],
)
def test_non_phone_numbers_are_kept(masker, text):
    assert masker.mask(text) == (text, 0)


def test_phone_count_and_mixed_text(masker):
    text = (
        "Contactos: geral@camara-lisboa.pt, tel. +351 213 456 789 ou 912345678, fax 00351-213-456-700. "
        "Morada: Praça do Município, 1100-038 Lisboa. Servidor 193.136.1.2, NIF 512345678."
    )
    masked, phones = masker.mask(text)
    assert phones == 3
    assert masked == (
        f"Contactos: {EMAIL}, tel. {PHONE} ou {PHONE}, fax {PHONE}. "
        f"Morada: Praça do Município, 1100-038 Lisboa. Servidor {IP}, NIF 512345678."
    )


def test_switches_turn_maskers_off():
    off = PiiMasker(CFG | {"emails": False, "public_ips": False, "phones": False})
    text = "a@b.pt 8.8.8.8 912345678"
    assert off.mask(text) == (text, 0)
    phones_only = PiiMasker(CFG | {"emails": False, "public_ips": False})
    assert phones_only.mask(text) == (f"a@b.pt 8.8.8.8 {PHONE}", 1)


DOCS = [
    "Envie para a@exemplo.pt, b@exemplo.pt e c@exemplo.pt a partir de 8.8.8.8 ou 1.1.1.1; ligue 212 345 678.",
    "Outro: d@exemplo.pt, IP 9.9.9.9 e 208.67.222.222, telemóvel +351 961 234 567.",
]


def test_second_document_equals_masking_it_alone(masker):
    masker.mask(DOCS[0])  # three e-mails, two IPs, one phone: would advance any replacement cycle
    assert masker.mask(DOCS[1]) == PiiMasker(CFG).mask(DOCS[1])


def test_output_does_not_depend_on_order(masker):
    first = [masker.mask(d) for d in DOCS]
    reverse = [PiiMasker(CFG).mask(d) for d in reversed(DOCS)][::-1]
    alone = [PiiMasker(CFG).mask(d) for d in DOCS]
    assert first == reverse == alone
    assert first[1] == (f"Outro: {EMAIL}, IP {IP} e {IP}, telemóvel {PHONE}.", 1)
    # the same masker again gives the same output: no replacement cycling across documents
    assert [masker.mask(d) for d in DOCS] == first


def test_output_is_the_same_in_another_process(masker):
    code = (
        "import json, sys, yaml\n"
        "from amalia_wf.data.pii import PiiMasker\n"
        "cfg = yaml.safe_load(open('config/config.yaml', encoding='utf-8'))['data']['pii']\n"
        "m = PiiMasker(cfg)\n"
        "docs = json.loads(sys.stdin.read())\n"
        "print(json.dumps([m.mask(d) for d in reversed(docs)]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(DOCS), cwd=REPO, capture_output=True, text=True, check=True
    )
    other = [tuple(r) for r in json.loads(proc.stdout)][::-1]
    assert other == [masker.mask(d) for d in DOCS]
