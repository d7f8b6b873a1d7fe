"""Resumable, checksummed downloads of archive files."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import requests

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class ChecksumMismatch(RuntimeError):
    pass


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: str | os.PathLike[str], sha256: str | None, retries: int = 5, timeout_s: float = 60) -> None:
    """Fetch `url` into `dest`, continuing a previous partial `.part` file with an HTTP Range request.

    The partial file survives kills and failed jobs (it is not a Snakemake output), so a 1 GB WARC
    interrupted at 900 MB costs 100 MB on the rerun. `dest` appears only once the checksum matches
    (a None checksum, for sources not yet pinned, accepts the file; the caller records what it got).
    """
    final = Path(dest)
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, retries + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with requests.get(url, headers=headers, stream=True, timeout=timeout_s) as resp:
                if resp.status_code == 416:  # nothing left to send: the part file is complete
                    pass
                else:
                    resp.raise_for_status()
                    mode = "ab" if have and resp.status_code == 206 else "wb"
                    with open(part, mode) as f:
                        for chunk in resp.iter_content(CHUNK):
                            f.write(chunk)
            break
        except requests.RequestException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                # Not found, forbidden...: asking again will not change the answer.
                raise RuntimeError(f"download of {url} failed: {exc}") from exc
            if attempt == retries:
                raise RuntimeError(f"download of {url} failed after {retries} attempts: {exc}") from exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            time.sleep(min(2**attempt, 60))
    got = sha256_of(part)
    if sha256 is not None and got != sha256:
        part.unlink()
        raise ChecksumMismatch(f"{url}: sha256 {got} does not match the manifest's {sha256}; partial file removed")
    os.replace(part, final)
