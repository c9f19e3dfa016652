"""The batch-upload client of sync protocol v1 (DESIGN.md § Sync protocol v1), on `requests`.

It uploads an exported queue — a file shaped like a push body, ``{"device": …, "mutations": […]}``, with
any number of mutations — in pushes the server accepts (at most 1,000 mutations and 2 MiB each), in
`seq` order, retrying each push on connection errors, timeouts, 429 and 5xx with exponential backoff
and jitter.

Correctness rests on the server: the key of a mutation is (device, id), so sending it again — after a
lost response, a crash, Ctrl-C — returns ``duplicate`` with the first result and changes nothing. The
progress file next to the queue (``FILE.progress``: the ids acknowledged so far and their outcomes,
replaced atomically after every push) only spares an interrupted upload from sending again what the
server already answered.

    client = SyncClient("https://lotwise.example", username="sabine", password=…)
    summary = client.upload("HH-07-queue.json", progress=lambda done, total: …)
    print(format_summary(summary))
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import requests

MAX_MUTATIONS = 1000  # a push's limit (sync/schemas.py MAX_MUTATIONS)
MAX_PUSH_BYTES = 2 * 1024 * 1024  # a push's body limit (the server's MAX_CONTENT_LENGTH)
DEFAULT_CHUNK_BYTES = MAX_PUSH_BYTES - 64 * 1024  # margin for proxies that count a little differently
MAX_RETRY_AFTER = 120.0  # seconds: the longest a Retry-After is obeyed
STATE_SUFFIX = ".progress"
STATE_VERSION = 1

Progress = Callable[[int, int], None]
"""progress(done, total): called once at the start and after every acknowledged push."""

RetryNotice = Callable[[int, float, str], None]
"""on_retry(attempt, delay_seconds, why): called before sleeping between attempts."""


# --- errors ---------------------------------------------------------------------------------------------

class SyncError(Exception):
    """Anything that stops an upload; `summary` holds what was achieved so far when upload() raised it."""

    summary: "Summary | None" = None


class QueueFileError(SyncError):
    """The queue file cannot be read or is not shaped like a push body."""


class AuthError(SyncError):
    """Sign-in failed, or the server refused the token (401) or the device (403)."""


class PushRefused(SyncError):
    """The server refused a push as a whole (a 4xx other than 401/403/413/429); nothing of it was applied."""

    def __init__(self, message: str, status: int, body: Any = None):
        super().__init__(message)
        self.status, self.body = status, body


class PushTooLarge(PushRefused):
    """413: the push is over the server's body limit; nothing of it was applied."""


class ServerUnavailable(SyncError):
    """The server stayed unreachable (or answered 5xx/429, or garbage) through every retry."""


# --- results --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rejection:
    """A mutation that was not recorded, and why."""

    id: Any
    seq: Any
    type: Any
    reason: str | None
    message: str | None
    errors: Any = None
    local: bool = False  # judged by this client (never sent), not by the server


@dataclass
class Summary:
    """The outcome of an upload.

    `statuses` counts what the server answered in this run (applied, flagged, rejected, duplicate);
    `duplicates` counts the original outcome of those answered duplicate; `earlier` counts the outcomes
    of mutations acknowledged in an earlier, interrupted run (from the progress file, not sent again).
    `outcomes` is what finally happened to every acknowledged mutation (applied, flagged or rejected),
    whichever way it was learnt; `rejected` lists every rejected one with its reason.
    """

    server: str
    device: str
    total: int
    state_path: str | None = None
    statuses: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    earlier: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    rejected_reasons: Counter = field(default_factory=Counter)
    flagged_reasons: Counter = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)
    pushes: int = 0
    retries: int = 0

    @property
    def done(self) -> int:
        """Mutations with a known outcome (acknowledged by the server, or rejected here)."""
        return sum(self.outcomes.values())

    @property
    def complete(self) -> bool:
        """Every mutation of the queue has an outcome."""
        return self.done >= self.total

    @property
    def any_rejected(self) -> bool:
        """Whether any mutation was rejected — in this run or an earlier one."""
        return bool(self.outcomes.get("rejected"))

    def add(self, mutation: Any, outcome: dict, *, status: str, earlier: bool = False, local: bool = False) -> None:
        """Count one mutation's outcome; `status` is what was answered, outcome["status"] what happened."""
        effective = outcome.get("status") or "unknown"
        if earlier:
            self.earlier[effective] += 1
        else:
            self.statuses[status] += 1
            if status == "duplicate":
                self.duplicates[effective] += 1
        self.outcomes[effective] += 1
        if effective == "flagged":
            self.flagged_reasons[outcome.get("reason") or "unknown"] += 1
        if effective == "rejected":
            self.rejected_reasons[outcome.get("reason") or "unknown"] += 1
            m = mutation if isinstance(mutation, dict) else {}
            self.rejected.append(Rejection(id=m.get("id"), seq=m.get("seq"), type=m.get("type"),
                                           reason=outcome.get("reason"), message=outcome.get("message"),
                                           errors=outcome.get("errors"), local=local))


def format_summary(summary: Summary, *, max_rejected: int = 50) -> str:
    """A plain-text report of an upload for a terminal."""
    def counted(counter: Counter) -> str:
        return ", ".join(f"{key} {n:,}" for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    lines = [f"Device {summary.device} → {summary.server}: {summary.done:,} of {summary.total:,} mutations "
             f"have an outcome ({summary.pushes:,} pushes, {summary.retries:,} retries)."]
    for status in ("applied", "flagged", "rejected"):
        line = f"  {status:<10}{summary.outcomes.get(status, 0):>8,}"
        reasons = summary.flagged_reasons if status == "flagged" else summary.rejected_reasons
        if status != "applied" and reasons:
            line += f"   ({counted(reasons)})"
        lines.append(line)
    if summary.outcomes.get("unknown"):
        lines.append(f"  {'unknown':<10}{summary.outcomes['unknown']:>8,}")
    answered = counted(Counter({k: v for k, v in summary.statuses.items() if k != "duplicate"}))
    lines.append(f"  answered in this run: {sum(summary.statuses.values()):,}" + (f" ({answered})" if answered else ""))
    if summary.statuses.get("duplicate"):
        lines.append(f"  duplicate (processed before, nothing done again): {summary.statuses['duplicate']:,}"
                     f" — originally {counted(summary.duplicates)}")
    if summary.earlier:
        lines.append(f"  acknowledged in an earlier run (from {summary.state_path}): {sum(summary.earlier.values()):,}"
                     f" — {counted(summary.earlier)}")
    if summary.rejected:
        lines.append(f"Rejected ({len(summary.rejected):,}):")
        for r in summary.rejected[:max_rejected]:
            where = " (not sent: too large for a push)" if r.local else ""
            detail = f" {json.dumps(r.errors, ensure_ascii=False)}" if r.errors else ""
            lines.append(f"  seq {r.seq}  {r.type}  id {r.id}: {r.reason} — {r.message}{where}{detail}")
        if len(summary.rejected) > max_rejected:
            lines.append(f"  … and {len(summary.rejected) - max_rejected:,} more"
                         + (f" (all outcomes are in {summary.state_path})" if summary.state_path else ""))
    if not summary.complete:
        lines.append(f"Not finished: {summary.total - summary.done:,} mutations still to send; "
                     "run the same command again to resume.")
    return "\n".join(lines)


# --- the queue and its progress file --------------------------------------------------------------------

def load_queue(source: str | os.PathLike | dict) -> dict:
    """An exported queue from a file (or an already loaded push body), checked for its shape only.

    The mutations themselves are the server's to judge: a malformed one comes back `rejected/invalid`.
    """
    if isinstance(source, dict):
        body = source
    else:
        try:
            with open(source, "rb") as handle:
                body = json.load(handle)
        except OSError as exc:
            raise QueueFileError(f"Cannot read {source}: {exc.strerror or exc}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise QueueFileError(f"{source} is not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("mutations"), list):
        raise QueueFileError('The queue must be a JSON object {"device": …, "mutations": […]}')
    device = body.get("device")
    if device is not None and (not isinstance(device, str) or not device):
        raise QueueFileError('The queue\'s "device" must be a non-empty string')
    return body


def _mutation_id(mutation: Any) -> str | None:
    """The id a mutation is tracked by, when it has a usable one."""
    mid = mutation.get("id") if isinstance(mutation, dict) else None
    return mid if isinstance(mid, str) and mid else None


def _in_seq_order(mutations: list) -> list:
    """The queue sorted by `seq` (stable; mutations without an integer seq go last, as exported)."""
    def key(pair):
        index, m = pair
        seq = m.get("seq") if isinstance(m, dict) else None
        ok = isinstance(seq, int) and not isinstance(seq, bool)
        return (0, seq, index) if ok else (1, 0, index)
    return [m for _, m in sorted(enumerate(mutations), key=key)]


def _encode(value: Any) -> bytes:
    """Compact JSON as sent; UTF-8, falling back to ASCII escapes for strings UTF-8 cannot carry."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape in the file
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _body(device: str, encoded: Iterable[bytes]) -> bytes:
    """A push body built from already encoded mutations, so its size is known before it is sent."""
    return b'{"device":' + _encode(device) + b',"mutations":[' + b",".join(encoded) + b"]}"


def chunked(device: str, encoded: list[bytes], *, max_count: int, max_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, end) ranges of `encoded` whose push bodies hold at most max_count mutations and max_bytes.

    A mutation too large for any push on its own comes out as a range of one; the caller must not send it.
    """
    overhead = len(_body(device, []))
    start, size = 0, overhead
    for index, item in enumerate(encoded):
        extra = len(item) + (1 if index > start else 0)
        if index > start and (index - start >= max_count or size + extra > max_bytes):
            yield start, index
            start, size, extra = index, overhead, len(item)
        size += extra
    if start < len(encoded):
        yield start, len(encoded)


class ProgressFile:
    """FILE.progress: which mutations the server acknowledged, with their outcomes; replaced atomically.

    Only an optimisation: if it is lost, stale or unreadable, the upload sends everything again and the
    server answers `duplicate` for what it already has.
    """

    def __init__(self, path: str | os.PathLike, server: str, device: str):
        self.path = Path(path)
        self.server, self.device = server, device
        self.done: dict[str, dict] = {}
        self.warning: str | None = None

    def load(self) -> "ProgressFile":
        """Read what an earlier run acknowledged for the same server and device."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self
        except (OSError, ValueError) as exc:
            self.warning = f"Ignoring unreadable {self.path} ({exc}); sending everything again"
            return self
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("done"), dict):
            self.warning = f"Ignoring {self.path}: not a progress file of this version"
        elif data.get("server") != self.server or data.get("device") != self.device:
            self.warning = (f"Ignoring {self.path}: it is about device {data.get('device')} on {data.get('server')}, "
                            "not this upload")
        else:
            self.done = {k: v for k, v in data["done"].items() if isinstance(v, dict)}
        return self

    def record(self, mutation_id: str, outcome: dict) -> None:
        """Remember one acknowledged mutation (call save() after the push)."""
        self.done[mutation_id] = outcome

    def save(self) -> None:
        """Write to a temporary file beside it, fsync, then rename over it: never a torn file."""
        data = {"version": STATE_VERSION, "server": self.server, "device": self.device,
                "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "done": self.done}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


FLAGGED_REASONS = frozenset({"substitute_lot", "fefo_violation", "wrong_location"})


def original_status(result: dict) -> str:
    """What happened to a mutation the server answered `duplicate` for: applied, flagged or rejected.

    The protocol's `original_status` says it; when a server leaves it out, the original result's stable
    reason code tells it (none: applied; a flag's code: flagged; any other code: rejected).
    """
    status = result.get("original_status")
    if isinstance(status, str) and status:
        return status
    reason = result.get("reason")
    return "applied" if reason is None else "flagged" if reason in FLAGGED_REASONS else "rejected"


def _kept(result: dict) -> dict:
    """The part of a result worth keeping in the progress file: what happened, and why if not applied."""
    status = original_status(result) if result.get("status") == "duplicate" else result.get("status")
    kept = {"status": status or "unknown"}
    if status != "applied":
        for key in ("reason", "message", "errors"):
            if result.get(key) is not None:
                kept[key] = result[key]
    return kept


# --- the client -----------------------------------------------------------------------------------------

class SyncClient:
    """A sync-protocol client: sign in, push, and upload whole exported queues resumably.

    server:       base URL, e.g. "https://lotwise.example" (the API lives under /api)
    token:        a bearer token; or username + password (+ device) to sign in with POST /api/auth/token
    device:       the device to sign in as (default: the queue's device, so a worker may push their own
                  handheld's queue; a supervisor may push any device's)
    timeout:      seconds per request (connect and read)
    max_retries:  retries of one push after the first attempt, on connection errors, timeouts, 429 and 5xx
    backoff_base, backoff_cap: the delay before retry n is min(cap, base·2ⁿ⁻¹), jittered to 50–100 %
    """

    def __init__(self, server: str, *, token: str | None = None, username: str | None = None,
                 password: str | None = None, device: str | None = None, session: requests.Session | None = None,
                 timeout: float | tuple[float, float] = (10, 300), max_retries: int = 8, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, max_bytes: int = DEFAULT_CHUNK_BYTES,
                 on_retry: RetryNotice | None = None, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random):
        if not isinstance(server, str) or not server.startswith(("http://", "https://")):
            raise ValueError(f"The server must be an http:// or https:// URL, not {server!r}")
        if max_retries < 0 or backoff_base < 0 or backoff_cap < 0:
            raise ValueError("Retries and backoff must not be negative")
        if not 0 < max_bytes <= MAX_PUSH_BYTES:
            raise ValueError(f"max_bytes must be in 1..{MAX_PUSH_BYTES}")
        self.server = server.rstrip("/")
        self.token, self.username, self.password, self.device = token, username, password, device
        self.session = session or requests.Session()
        self.timeout, self.max_retries = timeout, max_retries
        self.backoff_base, self.backoff_cap, self.max_bytes = backoff_base, backoff_cap, max_bytes
        self.on_retry, self._sleep, self._jitter = on_retry, sleep, jitter
        self.retries = 0  # retries made so far, over every request
        self.warning: str | None = None  # why the last upload ignored its progress file, if it did

    # -- sign-in --

    @property
    def can_sign_in(self) -> bool:
        """Whether user name and password were given."""
        return bool(self.username) and self.password is not None

    def login(self, device: str | None = None) -> dict:
        """POST /api/auth/token; keeps the token for later requests and returns the server's answer."""
        if not self.can_sign_in:
            raise AuthError("Give a token, or a user name and password")
        device = device or self.device
        if not device:
            raise AuthError("Signing in needs a device name")
        response = self._request("POST", "/api/auth/token", _encode(
            {"username": self.username, "password": self.password, "device": device}), may_sign_in=False)
        body = self._json(response)
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise ServerUnavailable("The sign-in answer has no token")
        self.token, self.device = body["token"], device
        return body

    # -- one push --

    def push(self, device: str, mutations: list) -> list[dict]:
        """One push of at most 1,000 mutations (retried as needed); the server's result for each, in order."""
        if len(mutations) > MAX_MUTATIONS:
            raise ValueError(f"At most {MAX_MUTATIONS} mutations a push")
        return self._push_encoded(device, [_encode(m) for m in mutations], mutations)

    def _push_encoded(self, device: str, encoded: list[bytes], mutations: list) -> list[dict]:
        """Send a push body made of encoded mutations; check that the answer fits them."""
        body = _body(device, encoded)
        if len(body) > MAX_PUSH_BYTES:
            raise PushTooLarge(f"A push of {len(body):,} bytes is over the {MAX_PUSH_BYTES:,}-byte limit", 413)
        if self.token is None:
            self.login(self.device or device)
        answer = self._json(self._request("POST", "/api/sync/push", body))
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(mutations) \
                or not all(isinstance(r, dict) for r in results):
            raise ServerUnavailable(f"The server answered a push of {len(mutations)} mutations with "
                                    f"{len(results) if isinstance(results, list) else 'no'} results")
        for mutation, result in zip(mutations, results):
            mid = _mutation_id(mutation)
            if mid is not None and result.get("id") != mid:
                raise ServerUnavailable(f"The server answered mutation {mid} with the result of {result.get('id')}")
        return results

    # -- whole queues --

    def upload(self, source: str | os.PathLike | dict, *, device: str | None = None, chunk_size: int = MAX_MUTATIONS,
               progress: Progress | None = None, state_path: str | os.PathLike | None = None,
               resume: bool = True) -> Summary:
        """Upload an exported queue in pushes of ≤ chunk_size mutations and ≤ max_bytes, in `seq` order.

        source:     the queue file, or a loaded push body
        device:     whose queue it is (default: the queue's "device")
        state_path: the progress file (default: the queue file's path + ".progress"; none for a dict source)
        resume:     skip what the progress file says was acknowledged; False sends everything again
        Raises SyncError subclasses (with `.summary` of what was done) when it cannot finish; an interrupt
        (KeyboardInterrupt) also carries `.summary`. What was acknowledged is in the progress file either way.
        """
        if not 1 <= chunk_size <= MAX_MUTATIONS:
            raise ValueError(f"chunk_size must be in 1..{MAX_MUTATIONS}")
        queue = load_queue(source)
        device = device or queue.get("device")
        if not device:
            raise QueueFileError('The queue names no "device"; give one')
        if state_path is None and not isinstance(source, dict):
            state_path = os.fspath(source) + STATE_SUFFIX
        state = ProgressFile(state_path, self.server, device) if state_path is not None else None
        if state is not None and resume:
            state.load()
        mutations = _in_seq_order(queue["mutations"])
        summary = Summary(server=self.server, device=device, total=len(mutations),
                          state_path=os.fspath(state_path) if state_path is not None else None)
        self.warning = state.warning if state is not None else None
        pending = []
        for mutation in mutations:
            mid = _mutation_id(mutation)
            known = state.done.get(mid) if state is not None and mid is not None else None
            if known is not None:
                summary.add(mutation, known, status=known.get("status", "unknown"), earlier=True)
            else:
                pending.append(mutation)
        retries_before = self.retries
        try:
            if progress:
                progress(summary.done, summary.total)
            self._send_all(device, pending, chunk_size, state, summary, progress)
        except (SyncError, KeyboardInterrupt) as exc:
            summary.retries = self.retries - retries_before
            exc.summary = summary
            raise
        summary.retries = self.retries - retries_before
        return summary

    def _send_all(self, device: str, pending: list, chunk_size: int, state: ProgressFile | None,
                  summary: Summary, progress: Progress | None) -> None:
        """Push the pending mutations chunk by chunk, recording each acknowledged chunk before the next."""
        encoded = [_encode(m) for m in pending]
        work = list(chunked(device, encoded, max_count=chunk_size, max_bytes=self.max_bytes))
        work.reverse()  # a stack: a range the server finds too large is split and its halves pushed first
        while work:
            start, end = work.pop()
            try:
                results = self._push_encoded(device, encoded[start:end], pending[start:end])
            except PushTooLarge:
                if end - start == 1:  # over the limit on its own (never sent), or refused alone by the server
                    self._reject_locally(pending[start], summary)
                else:  # the server's limit is lower than ours: halve and go on
                    middle = (start + end) // 2
                    work += [(middle, end), (start, middle)]
                    continue
            else:
                summary.pushes += 1
                self._record(pending[start:end], results, state, summary)
            if progress:
                progress(summary.done, summary.total)

    def _record(self, mutations: list, results: list[dict], state: ProgressFile | None, summary: Summary) -> None:
        """Count a push's results and make them durable in the progress file."""
        for mutation, result in zip(mutations, results):
            kept = _kept(result)
            summary.add(mutation, kept, status=result.get("status") or "unknown")
            mid = _mutation_id(mutation)
            if state is not None and mid is not None:
                state.record(mid, kept)
        if state is not None:
            state.save()

    @staticmethod
    def _reject_locally(mutation: Any, summary: Summary) -> None:
        """A mutation no push can carry: never sent, counted as rejected (not stored: it was not acknowledged)."""
        summary.add(mutation, {"status": "rejected", "reason": "too_large",
                               "message": "Too large for a push on its own (the limit is "
                                                          f"{MAX_PUSH_BYTES:,} bytes)"},
                    status="rejected", local=True)

    # -- HTTP --

    def _request(self, method: str, path: str, body: bytes, *, may_sign_in: bool = True) -> requests.Response:
        """One request, retried on connection errors, timeouts, 429 and 5xx; raises on other failures."""
        signed_in_again = False
        attempt = 0
        while True:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self.token and path != "/api/auth/token":
                headers["Authorization"] = f"Bearer {self.token}"
            why, wait = None, None
            try:
                response = self.session.request(method, self.server + path, data=body, headers=headers,
                                                timeout=self.timeout)
                response.content  # read it all now: a connection dropped mid-body is a retryable error
            except requests.exceptions.SSLError as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise AuthError(f"The server's TLS certificate is not trusted ({exc}); "
                                    "give its CA bundle") from None
                why = _describe(exc)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                why = _describe(exc)
            else:
                status = response.status_code
                if status == 401 and path != "/api/auth/token" and may_sign_in and self.can_sign_in \
                        and not signed_in_again:
                    signed_in_again = True  # the token expired or was revoked: sign in once more
                    self.token = None
                    self.login()
                    continue
                if status in (401, 403):
                    raise AuthError(self._refusal(response, {
                        401: "The server refused the sign-in" if path == "/api/auth/token"
                        else "The server refused the token (expired or revoked?); sign in again",
                        403: "The server does not allow this"}[status]))
                if status == 413:
                    raise PushTooLarge(self._refusal(response, "Too large for the server"), 413, _try_json(response))
                if status == 429 or status >= 500:
                    why = f"HTTP {status} {_error_code(response)}".rstrip()
                    wait = _retry_after(response)
                elif status >= 400:
                    raise PushRefused(self._refusal(response, f"The server refused the request (HTTP {status})"),
                                      status, _try_json(response))
                elif _try_json(response) is _NOT_JSON:
                    why = f"HTTP {status} with a body that is not JSON (cut off in transit?)"
                else:
                    return response
            if attempt >= self.max_retries:
                raise ServerUnavailable(f"{self.server} did not answer after {attempt + 1} attempts; last: {why}")
            attempt += 1
            self.retries += 1
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)) * (0.5 + 0.5 * self._jitter())
            if wait is not None:  # the server's Retry-After, within reason
                delay = max(delay, min(wait, MAX_RETRY_AFTER))
            if self.on_retry:
                self.on_retry(attempt, delay, why)
            self._sleep(delay)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        """The JSON of an answer already known to parse."""
        return response.json()

    @staticmethod
    def _refusal(response: requests.Response, default: str) -> str:
        """The server's message from its JSON error, with its code, or a default."""
        body = _try_json(response)
        if isinstance(body, dict) and body.get("message"):
            text = f"{default}: {body['message']} ({body.get('error', response.status_code)})"
            if body.get("errors"):
                text += f" {json.dumps(body['errors'], ensure_ascii=False)}"
            return text
        return f"{default} (HTTP {response.status_code})"


_NOT_JSON = object()


def _describe(exc: Exception) -> str:
    """A network error in one line: its kind and the innermost reason urllib3 gives."""
    reason: Any = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the real cause
    text = str(reason)
    if "): " in text and text.startswith(("HTTPConnection(", "HTTPSConnection(", "<urllib3")):
        text = text.split("): ", 1)[1]
    return f"{type(exc).__name__}: {text}"[:300]


def _try_json(response: requests.Response) -> Any:
    """The body as JSON, or _NOT_JSON."""
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _error_code(response: requests.Response) -> str:
    """The machine code of a JSON error body, if any."""
    body = _try_json(response)
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds, when the server gave it as a number."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
