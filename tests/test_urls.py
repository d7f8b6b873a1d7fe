"""URL-level removal with the default config's rules and datatrove's bundled UT1 lists."""

from __future__ import annotations

import tarfile
from pathlib import Path

import datatrove
import pytest
import yaml

from amalia_wf.data.urls import UrlRules

REPO = Path(__file__).resolve().parent.parent
UT1_TARBALL = Path(datatrove.__file__).parent / "assets" / "url_filterblacklistsv0_3_0.tar.gz"
# Entries of the bundled UT1 `domains` list (checked below against the tarball itself).
ADULT_DOMAIN = "101gowrie.com"
ADULT_SUBDOMAIN = "0-puppy-0.tumblr.com"


def url_filter_cfg(**changes) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))["data"]["url_filter"]
    return cfg | changes


@pytest.fixture(scope="module")
def rules() -> UrlRules:
    """Built once: the first blocklist lookup loads ~4.5M domains (several seconds)."""
    return UrlRules(url_filter_cfg())


def test_blocklist_domains_are_in_the_bundled_tarball():
    with tarfile.open(UT1_TARBALL, "r:gz") as tar:
        assert {"domains", "urls"} <= set(tar.getnames())
        wanted = {ADULT_DOMAIN.encode(), ADULT_SUBDOMAIN.encode()}
        found = set()
        domains = tar.extractfile("domains")
        for line in domains:
            if line.strip() in wanted:
                found.add(line.strip())
                if found == wanted:
                    break
    assert found == wanted


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://g1.globo.com.br/x", "host_suffix"),
        ("HTTPS://WWW.Globo.COM.BR./x", "host_suffix"),
        ("https://www.example.com/pt-br/artigo", "path_segment"),
        ("https://www.example.com/PT_BR/", "path_segment"),
        ("https://www.example.com/noticias/br/1", "path_segment"),
        ("https://www.example.com/a%2Fbr/x", "path_segment"),  # percent-encoded slash is decoded
    ],
)
def test_pt_br_hosts_and_paths_are_dropped(rules, url, reason):
    assert rules.reason(url) == reason


@pytest.mark.parametrize(
    "url",
    [
        "https://www.brisa.pt/",
        "http://portal.bragancanet.pt/",
        "https://www.cabrita.pt/bricolage/x",
        "https://www.publico.pt/2020/01/02/x",
        "https://www.example.com/brasil/x",  # a segment that merely starts with "br"
        "https://www.example.com/x?lang=pt-br",  # the query is not a path segment
        "https://www.br.pt/",  # ".br" inside the host, not its suffix
    ],
)
def test_portuguese_urls_are_kept(rules, url):
    assert rules.reason(url) is None


def test_ut1_domain_is_dropped(rules):
    reason = rules.reason(f"http://{ADULT_DOMAIN}/x")
    assert reason is not None and reason.startswith("blocklist_")
    assert reason == "blocklist_domain"
    assert rules.reason(f"https://www.{ADULT_DOMAIN}/pagina") == "blocklist_domain"


def test_ut1_subdomain_is_dropped(rules):
    assert rules.reason(f"http://{ADULT_SUBDOMAIN}/") == "blocklist_subdomain"


def test_host_and_path_rules_come_before_the_blocklist(rules):
    assert rules.reason(f"http://{ADULT_DOMAIN}/pt-br/") == "path_segment"


def test_without_ut1_blocklist_the_domain_is_kept():
    plain = UrlRules(url_filter_cfg(ut1_blocklist=False))
    assert plain.adult is None
    assert plain.reason(f"http://{ADULT_DOMAIN}/x") is None
    assert plain.reason(f"http://{ADULT_SUBDOMAIN}/") is None
    assert plain.reason("https://g1.globo.com.br/x") == "host_suffix"  # the other rules still apply
    assert plain.reason("https://www.example.com/pt-br/artigo") == "path_segment"


def test_empty_rules_keep_everything():
    none = UrlRules({"blocked_host_suffixes": [], "blocked_path_segments": [], "ut1_blocklist": False})
    assert none.reason("https://g1.globo.com.br/pt-br/") is None
