"""Resumable, checksummed downloads of archive files."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Worth asking again: the server's own timeout, rate limiting, server errors. Any other 4xx
# (not found, forbidden...) will not change on asking again, so it fails at once.
RETRY_STATUSES = frozenset({408, 429, *range(500, 600)})
WAIT_MAX_S = 60  # cap on any wait between attempts, a server's Retry-After included


class ChecksumMismatch(RuntimeError):
    pass


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def retrying_session(attempts: int) -> requests.Session:
    """A Session whose requests urllib3 tries `attempts` times (connection errors, timeouts before the
    response, RETRY_STATUSES), waiting Retry-After or else 0 s, 2 s, 4 s, ... up to WAIT_MAX_S."""
    retry = Retry(total=attempts - 1, status_forcelist=RETRY_STATUSES, backoff_factor=1,
                  backoff_max=WAIT_MAX_S, retry_after_max=WAIT_MAX_S)
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry))
    return session


def download(url: str, dest: str | os.PathLike[str], sha256: str | None, retries: int = 5, timeout_s: float = 60) -> None:
    """Fetch `url` into `dest`, continuing a previous partial `.part` file with an HTTP Range request.

    Each request is tried `retries` times (retrying_session); urllib3 retries only until the response
    starts, so a transfer that breaks off mid-body is resumed here, up to `retries` times. The partial
    file survives kills and failed jobs (it is not a Snakemake output), so a 1 GB WARC interrupted at
    900 MB costs 100 MB on the rerun. `dest` appears only once the checksum matches (a None checksum,
    for sources not yet pinned, accepts the file; the caller records what it got).
    """
    final = Path(dest)
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    with retrying_session(retries) as session:
        for transfer in range(1, retries + 1):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                resp = session.get(url, headers=headers, stream=True, timeout=timeout_s)
            except requests.RequestException as exc:  # retried by urllib3 already
                raise RuntimeError(f"download of {url} failed after {retries} attempts: {exc}") from exc
            with resp:
                if resp.status_code == 416:  # nothing left to send: the part file is complete
                    break
                if not resp.ok:  # a 4xx that asking again will not change
                    raise RuntimeError(f"download of {url} failed: HTTP {resp.status_code} {resp.reason}")
                try:
                    with open(part, "ab" if have and resp.status_code == 206 else "wb") as f:
                        f.writelines(resp.iter_content(CHUNK))
                    break
                except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
                    log.warning("download of %s broke off (transfer %d/%d): %s; resuming", url, transfer, retries, exc)
        else:
            raise RuntimeError(f"download of {url} failed: the transfer broke off {retries} times")
    got = sha256_of(part)
    if sha256 is not None and got != sha256:
        part.unlink()
        raise ChecksumMismatch(f"{url}: sha256 {got} does not match the manifest's {sha256}; partial file removed")
    os.replace(part, final)
