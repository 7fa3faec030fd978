#!/usr/bin/env python3
"""Benchmarks of the installed ``pierrot`` against the local fakes of tests/e2e (issue 5), run by hand.

    python tests/benchmarks/run.py            # N = 20,000 and 100,000; writes docs/performance.md
    python tests/benchmarks/run.py --quick    # N = 2,000 and 10,000, a smoke run; prints only unless --output
    python tests/benchmarks/run.py --case networks --repeat 5
        # only publishing to X, Bluesky and Mastodon (together, then each alone): rewrites only its own
        # section of docs/performance.md
    python tests/benchmarks/run.py --case compose [--source DIR]
        # only composing hostile photos (issue 15): the worst compose time per network, printed; --source
        # times another checkout's pierrot package (say `git archive main`) the same way, for a before

Run it from the repository root with the project's venv (the fakes need the test extra). pytest never
collects this file (not ``test_*.py``). Every measured run is a fresh child process: the installed ``pierrot``
executable with a clean environment, a local store in a temporary folder and the settings that point it at
the fakes, which are served from this process. A tiny wrapper process spawns and ``os.wait4``s each child, so
its CPU time and peak RSS are its own (a child spawned from this process would report this process's RSS).

Timings on a shared machine are noisy: each figure is the median of ``--repeat`` runs (peak RSS: the
largest), and nothing here asserts a timing. The naive approach is the original design: count the photos
with one call and, whenever the count changed, list every page again, one after the other; it runs as a
child process too (this file with ``--naive-child``) and does the same per-photo work as pierrot (records
built with ``pierrot.adapters.flickr_records.photo_from_item``, the catalogue written as pierrot writes it,
orjson parsing).
The Flickr fake's photos live in this process (``FlickrFake.populate``), so memory here grows with N.

docs/performance.md keeps what it holds between the ``lambda-section`` markers (written by hand) through a
full run; the networks case's own section sits between the ``publish-networks-section`` markers, so that
``--case networks`` replaces that section alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: `tests.e2e.servers` lives under the repository root

if TYPE_CHECKING:
    from tests.e2e.servers import Secrets, ServerThread

PER_PAGE = 500
LATENCY = 0.05  # seconds added to every Flickr API call
FULL_SIZES = (20_000, 100_000)
QUICK_SIZES = (2_000, 10_000)
NEW_PHOTOS = (1, 1_200)
FULL_LOG_ENTRIES = 10_000
QUICK_LOG_ENTRIES = 1_000
STARTUP_RUNS = 7
WALL_TARGET = 0.35  # at most this fraction of the sequential ideal
RSS_TARGET_MIB = 200
RSS_TARGET_AT = 100_000
STARTUP_TARGET = 1.5
DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"
HEAVY_MODULES = ("boto3", "botocore", "tweepy", "flickrapi", "requests", "urllib3", "twitter_text", "oauthlib")
# Byte sizes per size label closer to real Flickr JPEGs than the e2e fake's defaults (whose k is over X's 5 MB).
REALISTIC_IMAGE_BYTES = {"o": 12 * 1024 * 1024, "k": 1_400_000, "h": 800_000, "l": 400_000, "c": 250_000,
                         "z": 150_000}
SUMMARY = re.compile(r"; (\w+) sync, (\d+) Flickr call")
# The networks case: publish to the three networks together, then to each alone, from a catalogue of
# NETWORKS_PHOTOS photos of which NETWORKS_LOG_PHOTOS, evenly spread, are published on all three already.
CASES = ("all", "networks", "compose")
NETWORK_RUNS = (("x", "bluesky", "mastodon"), ("x",), ("bluesky",), ("mastodon",))
NETWORK_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}
NOT_USED = re.compile(r"photo \S+ size ([0-9a-z]+) not used: (.*)")  # pierrot.adapters.images.fetcher, logged with -v
NETWORKS_PHOTOS, NETWORKS_LOG_PHOTOS = 20_000, 1_000
QUICK_NETWORKS_PHOTOS, QUICK_NETWORKS_LOG_PHOTOS = 2_000, 100
MASTODON_TOKEN = "bench-mastodon-token-Zq8Xw6Vc4Ub2Ny0"
LAMBDA_BEGIN, LAMBDA_END = "<!-- lambda-section", "<!-- /lambda-section -->"
NETWORKS_BEGIN = ("<!-- publish-networks-section: written by tests/benchmarks/run.py (a full run, or --case networks "
                  "alone); edits here are lost -->")
NETWORKS_END = "<!-- /publish-networks-section -->"


class BenchError(Exception):
    """A run that did not do what the benchmark needs (the message says which and shows its output)."""


def pages(count: int) -> int:
    """Pages of PER_PAGE needed to list ``count`` photos."""
    return math.ceil(count / PER_PAGE)


def minimal_calls(count: int) -> int:
    """The fewest Flickr calls that can list ``count`` photos: the count, then every page."""
    return 1 + pages(count)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ==== the naive approach ========================================================================


@dataclass
class NaiveResult:
    calls: int
    total: int
    items: list[dict[str, Any]] | None  # None: the count had not changed, nothing was listed


def naive_sync(api_url: str, api_key: str, api_secret: str, nsid: str, previous_total: int | None,
               *, per_page: int = PER_PAGE) -> NaiveResult:
    """The original design: one call for the count; if it changed, every page again, sequentially.

    It signs its calls with flickrapi and parses them with orjson (when installed) as pierrot does, so that
    what differs from pierrot is the algorithm, not the libraries.
    """
    import flickrapi

    from pierrot.adapters.flickr import EXTRAS

    loads: Callable[[Any], Any] = json.loads
    try:
        import orjson

        loads = orjson.loads
    except ImportError:
        pass

    api = flickrapi.FlickrAPI(api_key, api_secret, format="json", store_token=False, timeout=30)
    api.REST_URL = api_url

    def photos(**params: Any) -> dict[str, Any]:
        reply = loads(api.do_flickr_call("flickr.people.getPhotos", user_id=nsid, **params))
        if reply.get("stat") != "ok":
            raise BenchError(f"the Flickr fake refused a naive call: {reply}")
        return dict(reply["photos"])

    total = int(photos(per_page=1, page=1)["total"])
    calls = 1
    if previous_total is not None and total == previous_total:
        return NaiveResult(calls, total, None)
    items: list[dict[str, Any]] = []
    for page in range(1, math.ceil(total / per_page) + 1):
        items.extend(photos(per_page=per_page, page=page, extras=EXTRAS).get("photo") or [])
        calls += 1
    return NaiveResult(calls, total, items)


def naive_child(spec: dict[str, Any]) -> int:
    """``--naive-child``: one naive sync with its state (the last count) in a folder, as its own process."""
    from pierrot.adapters.flickr_records import photo_from_item
    from pierrot.domain import Catalogue

    state = Path(spec["state"])
    count_file = state / "naive-count.json"
    previous = json.loads(count_file.read_text())["total"] if count_file.exists() else None
    result = naive_sync(spec["api_url"], spec["api_key"], spec["api_secret"], spec["nsid"], previous)
    if result.items is not None:
        photos = [p for p in map(photo_from_item, result.items) if p is not None and p.is_photo]
        with open(state / "naive-db.json", "wb") as out:
            for chunk in Catalogue(spec["nsid"], photos).json_chunks():
                out.write(chunk)
        count_file.write_text(json.dumps({"total": result.total}))
    print(json.dumps({"calls": result.calls, "total": result.total,
                      "listed": None if result.items is None else len(result.items)}))
    return 0


# ==== the fakes =================================================================================


@dataclass
class Sent:
    """One answer of a WSGI app: its status, the body length it declared and the body bytes written to the socket."""

    path: str
    status: int = 0
    declared: int | None = None
    nbytes: int = 0
    complete: bool = False  # every byte of the body was written (the client may not have read them all)
    ended: bool = False

    @property
    def label(self) -> str:
        """The Flickr size label of an image path, ``/{id}_{label}.jpg``."""
        found = re.search(r"_([0-9a-z]+)\.\w+$", self.path)
        return found.group(1) if found else self.path


class CountingApp:
    """Serves a WSGI app and counts, per request, the body bytes the server managed to write.

    A chunk counts once the server asks for the next one: it was written to the socket. A client that closes
    the connection early (a download refused on its Content-Length) makes a write fail, and the server stops
    asking; the bytes counted then include what the kernel buffered but the client never read."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        record = Sent(environ.get("PATH_INFO", ""))
        with self._lock:
            self.sent.append(record)

        def started(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            record.status = int(status.split()[0])
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            record.declared = int(length) if length and length.isdigit() else None
            return start_response(status, headers, *rest)

        return self._count(self.app(environ, started), record)

    @staticmethod
    def _count(body: Iterable[bytes], record: Sent) -> Iterator[bytes]:
        try:
            for chunk in body:
                yield chunk
                record.nbytes += len(chunk)
            record.complete = True
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            record.ended = True


class Fakes:
    """The e2e fakes pierrot talks to here (Flickr, its image host, X, Bluesky, Mastodon), without S3, on 127.0.0.1.

    Bluesky and Mastodon are served here rather than taken from ``FakeServers``, which brings moto along."""

    def __init__(self) -> None:
        from tests.e2e.fake_bluesky import BlueskyFake
        from tests.e2e.fake_mastodon import MastodonFake
        from tests.e2e.servers import FlickrFake, ImageHost, Secrets, XFake

        self.secrets: Secrets = Secrets()
        self.threads: list[ServerThread] = []
        self._fakes: list[Any] = []  # each has reset()
        try:
            s = self.secrets
            self.images = ImageHost()
            self.image_bytes = CountingApp(self.images)
            images = self._serve(self.images, self.image_bytes)
            self.flickr = FlickrFake(s.flickr_key, s.flickr_secret, image_base=images.url)
            self.x = XFake(s.x_api_key, s.x_api_secret, s.x_access_token, s.x_access_token_secret)
            self.bluesky = BlueskyFake()
            self.mastodon = MastodonFake(MASTODON_TOKEN)
            self.images_url = images.url
            self.flickr_url = self._serve(self.flickr).url + "/services/rest/"
            self.x_url = self._serve(self.x).url
            self.bluesky_url = self._serve(self.bluesky).url
            self.mastodon_url = self._serve(self.mastodon).url
        except BaseException:
            self.stop()
            raise

    def _serve(self, fake: Any, app: Callable[..., Any] | None = None) -> ServerThread:
        from tests.e2e.servers import ServerThread

        thread = ServerThread(app or fake)
        self._fakes.append(fake)
        self.threads.append(thread)
        return thread

    def stop(self) -> None:
        for fake in self._fakes:
            fake.reset()  # releases any request still waiting out a delay
        for thread in self.threads:
            thread.stop()
        self.threads = []

    def forget_posts(self) -> None:
        """Forget the networks' calls and posts (X refuses a text it has seen) and the image host's requests."""
        for fake in (self.x, self.bluesky, self.mastodon):
            fake.reset()
        self.images.requests = []
        self.image_bytes.sent = []

    def settings(self) -> dict[str, str]:
        s = self.secrets
        return {
            "PIERROT_FLICKR_API_URL": self.flickr_url,
            "PIERROT_FLICKR_IMAGE_HOSTS": self.images_url,
            "PIERROT_FLICKR_API_KEY": s.flickr_key,
            "PIERROT_FLICKR_API_SECRET": s.flickr_secret,
            "PIERROT_FLICKR_USER": self.flickr.nsid,  # an NSID: no call to resolve the user
            "PIERROT_X_API_URL": self.x_url,
            "PIERROT_X_API_KEY": s.x_api_key,
            "PIERROT_X_API_SECRET": s.x_api_secret,
            "PIERROT_X_ACCESS_TOKEN": s.x_access_token,
            "PIERROT_X_ACCESS_TOKEN_SECRET": s.x_access_token_secret,
            **self.bluesky.environment(self.bluesky_url),
            "PIERROT_MASTODON_URL": self.mastodon_url,
            "PIERROT_MASTODON_ACCESS_TOKEN": self.mastodon.access_token,
        }

    def naive_spec(self, state: Path) -> dict[str, Any]:
        s = self.secrets
        return {"api_url": self.flickr_url, "api_key": s.flickr_key, "api_secret": s.flickr_secret,
                "nsid": self.flickr.nsid, "state": str(state)}


# ==== one child process, measured ===============================================================


@dataclass
class Run:
    """One child process: how it ended and what it cost."""

    argv: list[str]
    returncode: int
    wall: float  # seconds from start to exit
    cpu: float  # the child's user + system seconds
    rss_mib: float  # the child's peak resident set
    here_cpu: float  # this process's CPU meanwhile: the fakes serving the child
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (f"{shlex.join(self.argv)} -> exit {self.returncode} in {self.wall:.2f}s\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


# A child's ru_maxrss counts the memory of the process it was spawned from (Linux carries the spawner's
# high-water mark across exec), and this process holds the fakes' data. So each child is started by this
# tiny wrapper, which measures it and writes the figures to a file.
WRAPPER = """
import json, os, sys, time
argv, result = json.loads(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(result, "w") as out:
    json.dump({"returncode": os.waitstatus_to_exitcode(status), "wall": wall,
               "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, out)
"""


def run_child(argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float) -> Run:
    """Run ``argv`` (its first item a path) to its end, SIGKILLed after ``timeout`` seconds, and measure it."""
    import resource

    with tempfile.TemporaryDirectory(prefix="pierrot-bench-run-") as scratch:
        result = Path(scratch) / "result.json"
        stdout, stderr = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            here = resource.getrusage(resource.RUSAGE_SELF)
            wrapper = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", WRAPPER, json.dumps(list(argv)), str(result)],
                env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True,  # its own process group, killed whole; Ctrl-C reaches only this script
            )
            timed_out = False
            try:
                wrapper.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                if wrapper.returncode is None:  # timed out or interrupted: the wrapper is not reaped yet
                    os.killpg(wrapper.pid, signal.SIGKILL)
                    wrapper.wait()
            after = resource.getrusage(resource.RUSAGE_SELF)
        output = stdout.read_bytes().decode(errors="replace"), stderr.read_bytes().decode(errors="replace")
        figures = json.loads(result.read_text()) if result.exists() else None
    if timed_out or figures is None:
        why = f"timed out after {timeout:.0f}s" if timed_out else f"the measuring wrapper exited {wrapper.returncode}"
        raise BenchError(f"{shlex.join(argv)}: {why}\n--- stdout ---\n{output[0]}\n--- stderr ---\n{output[1]}")
    return Run(
        list(argv), int(figures["returncode"]), float(figures["wall"]), float(figures["cpu"]),
        figures["maxrss_kib"] / 1024, (after.ru_utime + after.ru_stime) - (here.ru_utime + here.ru_stime), *output,
    )


# ==== results ===================================================================================


@dataclass
class Sample:
    """Repeated runs of one thing: medians of the times, the largest peak RSS."""

    runs: list[Run] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # Flickr calls per run, from the fake's log

    def add(self, run: Run, calls: int) -> None:
        self.runs.append(run)
        self.calls.append(calls)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def here_cpu(self) -> float:
        return statistics.median(r.here_cpu for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.rss_mib for r in self.runs)

    @property
    def worst_calls(self) -> int:
        return max(self.calls)

    def calls_text(self) -> str:
        low, high = min(self.calls), max(self.calls)
        return f"{low:,}" if low == high else f"{low:,}–{high:,}"

    def spread(self) -> str:
        walls = [r.wall for r in self.runs]
        return f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else f"{walls[0]:.2f}"


@dataclass
class SyncCase:
    kind: str  # "first", "no-change", "new"
    n: int
    k: int
    target_calls: int
    naive_calls: int  # what the naive design needs for the same case
    latency: float
    pierrot: Sample = field(default_factory=Sample)
    naive: Sample = field(default_factory=Sample)
    modes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "first":
            return f"first sync, N = {self.n:,}"
        if self.kind == "no-change":
            return f"no-change sync, N = {self.n:,}"
        return f"k-new sync, N = {self.n:,}, k = {self.k:,}"

    @property
    def ideal(self) -> float:
        """The sequential ideal: the minimal number of calls, one after the other, each paying the latency."""
        return self.target_calls * self.latency

    @property
    def naive_ideal(self) -> float:
        return self.naive_calls * self.latency


@dataclass
class PublishCase:
    label: str
    sizes: dict[str, int]
    sample: Sample = field(default_factory=Sample)
    http: list[dict[str, int]] = field(default_factory=list)  # per run: calls by kind
    image_requests: list[str] = field(default_factory=list)  # per run: the labels requested, with status

    def kinds(self) -> dict[str, str]:
        """Calls by kind; a range if the runs differ."""
        names = ("image downloads", "X upload", "X metadata", "X post", "X other", "Flickr API")
        found = {}
        for name in names:
            values = [h.get(name, 0) for h in self.http]
            found[name] = str(values[0]) if len(set(values)) == 1 else f"{min(values)}–{max(values)}"
        return found

    def expected(self) -> bool:
        want = {"image downloads": 1, "X upload": 1, "X metadata": 1, "X post": 1, "X other": 0, "Flickr API": 0}
        return all(all(h.get(name, 0) == count for name, count in want.items()) for h in self.http)


@dataclass
class NetworksRun:
    """One publish to some networks with one set of image sizes, run several times."""

    networks: tuple[str, ...]
    sizes_label: str
    sizes: dict[str, int]
    sample: Sample = field(default_factory=Sample)
    calls: list[dict[str, Counter[str]]] = field(default_factory=list)  # per run: fake -> endpoint -> calls
    images: list[list[Sent]] = field(default_factory=list)  # per run: the image host's answers, in order
    used: list[dict[str, str]] = field(default_factory=list)  # per run: network -> the size label it was sent
    # From one more run with -v: the sizes pierrot requested but did not use, in its own words ("too large ...").
    refused: dict[str, str] = field(default_factory=dict)
    verbose_images: list[tuple[str, int]] = field(default_factory=list)  # (label, status) in that run

    @property
    def label(self) -> str:
        return " + ".join(NETWORK_NAMES[n] for n in self.networks)

    def read(self, sent: Sent) -> bool:
        """Whether pierrot read this answer's body: a 200 it did not give up on (by the -v run's log)."""
        return sent.status == 200 and sent.label not in self.refused

    def total(self, fake: str) -> str:
        """Calls to one fake per run; a range if the runs differ."""
        return spread_of([sum(c.get(fake, Counter()).values()) for c in self.calls])

    def endpoint(self, fake: str, endpoint: str) -> str:
        return spread_of([c.get(fake, Counter()).get(endpoint, 0) for c in self.calls])

    def repeated_sizes(self) -> list[str]:
        """Size labels requested more than once in one run, with the run's number."""
        found = []
        for number, sent in enumerate(self.images, 1):
            counts = Counter(s.label for s in sent)
            found += [f"{label} ×{count} (run {number})" for label, count in counts.items() if count > 1]
        return found

    def figures(self) -> list[tuple[int, int, int]]:
        """Per run: image requests, downloads pierrot read to the end, their bytes."""
        return [(len(i), sum(1 for s in i if self.read(s)), sum(s.declared or s.nbytes for s in i if self.read(s)))
                for i in self.images]

    def downloads(self) -> tuple[str, str, str]:
        """``figures`` as text, a range where the runs differ."""
        runs = self.figures()
        return spread_of([f[0] for f in runs]), spread_of([f[1] for f in runs]), spread_of([f[2] for f in runs])

    def median_figures(self) -> tuple[int, int, int]:
        runs = self.figures()
        return (int(statistics.median(f[0] for f in runs)), int(statistics.median(f[1] for f in runs)),
                int(statistics.median(f[2] for f in runs)))

    def rss(self) -> float:
        return statistics.median(r.rss_mib for r in self.sample.runs)


def spread_of(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


@dataclass
class Startup:
    help_runs: list[Run] = field(default_factory=list)
    click_runs: list[Run] = field(default_factory=list)
    importtime: list[tuple[int, str, int, int]] = field(default_factory=list)  # depth, module, self, cumulative µs
    heavy: list[str] = field(default_factory=list)

    @property
    def help_wall(self) -> float:
        return statistics.median(r.wall for r in self.help_runs)

    @property
    def click_wall(self) -> float:
        return statistics.median(r.wall for r in self.click_runs)

    @property
    def help_cpu(self) -> float:
        return statistics.median(r.cpu for r in self.help_runs)

    @property
    def click_cpu(self) -> float:
        return statistics.median(r.cpu for r in self.click_runs)

    @property
    def ratio(self) -> float:
        return self.help_wall / self.click_wall


@dataclass
class Results:
    quick: bool
    sizes: tuple[int, ...]
    ks: tuple[int, ...]
    repeat: int
    latency: float
    log_entries: int
    command: str
    started: dt.datetime
    load_before: tuple[float, float, float]
    commit_before: str = ""
    commit_after: str = ""
    code_before: str = ""
    code_after: str = ""

    @property
    def code_changed(self) -> bool:
        return self.code_before != self.code_after
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    finished: dt.datetime | None = None
    startup: Startup = field(default_factory=Startup)
    sync: list[SyncCase] = field(default_factory=list)
    publish: list[PublishCase] = field(default_factory=list)
    publish_n: int = 0
    networks: list[NetworksRun] = field(default_factory=list)
    networks_photos: int = 0
    networks_log_photos: int = 0


# ==== the benchmarks ============================================================================


class Bench:
    """Runs every measurement against one set of fakes, in a temporary folder removed at the end."""

    def __init__(self, fakes: Fakes, executable: str, workdir: Path, repeat: int, latency: float) -> None:
        self.fakes = fakes
        self.executable = executable
        self.workdir = workdir
        self.repeat = repeat
        self.latency = latency
        self._homes = 0

    # ---- folders and environments ---------------------------------------------------------------

    def new_home(self) -> Path:
        self._homes += 1
        home = self.workdir / f"run-{self._homes:04d}"
        home.mkdir(parents=True)
        return home

    def environment(self, home: Path) -> dict[str, str]:
        from tests.e2e.servers import clean_environment

        return {
            **clean_environment(home),
            "PIERROT_STORE": str(home / "store"),
            "PIERROT_HTTP_TIMEOUT": "30",
            **self.fakes.settings(),
        }

    def timeout(self, calls: int) -> float:
        return 120 + 20 * calls * self.latency

    # ---- pierrot and the naive sync, one run each ------------------------------------------------

    def pierrot(self, home: Path, *args: str, timeout: float = 300) -> tuple[Run, int]:
        """Run the installed pierrot; the Flickr calls it made, from the fake's log."""
        before = len(self.fakes.flickr.calls)
        run = run_child([self.executable, *args], self.environment(home), home, timeout)
        calls = len(self.fakes.flickr.calls) - before
        if run.returncode != 0:
            raise BenchError(f"pierrot {' '.join(args)} failed:\n{run.describe()}")
        if "Traceback" in run.stdout + run.stderr:
            raise BenchError(f"a traceback reached the user:\n{run.describe()}")
        return run, calls

    def naive(self, state: Path, timeout: float = 300) -> tuple[Run, int]:
        before = len(self.fakes.flickr.calls)
        spec = json.dumps(self.fakes.naive_spec(state))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(state), "LANG": "C.UTF-8"}
        run = run_child([sys.executable, str(Path(__file__).resolve()), "--naive-child", spec], env, state, timeout)
        calls = len(self.fakes.flickr.calls) - before
        if run.returncode != 0:
            raise BenchError(f"the naive sync failed:\n{run.describe()}")
        counted = json.loads(run.stdout.strip().splitlines()[-1])["calls"]
        if counted != calls:
            raise BenchError(f"the naive sync counted {counted} calls but the fake saw {calls}")
        return run, calls

    # ---- start-up --------------------------------------------------------------------------------

    def startup(self, runs: int) -> Startup:
        found = Startup()
        home = self.new_home()
        env = self.environment(home)
        for index in range(runs + 1):  # interleaved; the first pair warms the caches and is not counted
            help_run = run_child([self.executable, "--help"], env, home, 60)
            click_run = run_child([sys.executable, "-c", "import click"], env, home, 60)
            for run in (help_run, click_run):
                if run.returncode != 0:
                    raise BenchError(f"start-up run failed:\n{run.describe()}")
            if index:
                found.help_runs.append(help_run)
                found.click_runs.append(click_run)
        trace = run_child([sys.executable, "-X", "importtime", "-c", "import pierrot.entrypoints.cli"], env, home, 60)
        found.importtime = parse_importtime(trace.stderr)
        loaded = {name.split(".")[0] for _, name, _, _ in found.importtime}
        found.heavy = [m for m in HEAVY_MODULES if m in loaded]
        shutil.rmtree(home)
        say(f"start-up: pierrot --help {found.help_wall:.3f}s, import click {found.click_wall:.3f}s "
            f"({found.ratio:.2f}x)")
        return found

    # ---- sync ------------------------------------------------------------------------------------

    def sync_cases(self, n: int, ks: Sequence[int]) -> tuple[list[SyncCase], Path]:
        """First, no-change and k-new syncs at N photos; returns them and a store holding the N photos."""
        flickr = self.fakes.flickr
        flickr.latency = 0.0
        flickr.populate(n)
        flickr.latency = self.latency
        base = self.workdir / f"base-{n}"
        naive_base = self.workdir / f"naive-base-{n}"

        first = SyncCase("first", n, 0, minimal_calls(n), minimal_calls(n), self.latency)
        for index in range(self.repeat):
            home = self.new_home()
            run, calls = self.pierrot(home, "sync", timeout=self.timeout(first.target_calls))
            self._record(first, run, calls)
            if index == self.repeat - 1:
                shutil.move(str(home / "store"), base)
            shutil.rmtree(home)
            state = self._naive_state()
            run, calls = self.naive(state, timeout=self.timeout(first.naive_calls))
            first.naive.add(run, calls)
            if index == self.repeat - 1:
                shutil.move(str(state), naive_base)
            else:
                shutil.rmtree(state)
            self._progress(first, index)
        cases = [first]

        unchanged = SyncCase("no-change", n, 0, 1, 1, self.latency)
        for index in range(self.repeat):
            home = self.new_home()
            shutil.copytree(base, home / "store")
            run, calls = self.pierrot(home, "sync", timeout=self.timeout(1))
            self._record(unchanged, run, calls)
            shutil.rmtree(home)
            state = self._naive_state(naive_base)
            run, calls = self.naive(state, timeout=self.timeout(1))
            unchanged.naive.add(run, calls)
            shutil.rmtree(state)
            self._progress(unchanged, index)
        cases.append(unchanged)

        for k in ks:
            case = SyncCase("new", n, k, minimal_calls(k), minimal_calls(n + k), self.latency)
            for index in range(self.repeat):
                added = [p.id for p in flickr.add(k)]
                try:
                    home = self.new_home()
                    shutil.copytree(base, home / "store")
                    run, calls = self.pierrot(home, "sync", timeout=self.timeout(case.naive_calls))
                    self._record(case, run, calls)
                    shutil.rmtree(home)
                    state = self._naive_state(naive_base)
                    run, calls = self.naive(state, timeout=self.timeout(case.naive_calls))
                    case.naive.add(run, calls)
                    shutil.rmtree(state)
                finally:
                    flickr.delete(*added)  # back to the N photos the base store holds
                self._progress(case, index)
            cases.append(case)
        shutil.rmtree(naive_base)
        return cases, base

    def _naive_state(self, copy_of: Path | None = None) -> Path:
        self._homes += 1
        state = self.workdir / f"naive-{self._homes:04d}"
        if copy_of is None:
            state.mkdir()
        else:
            state.mkdir()
            shutil.copy(copy_of / "naive-count.json", state / "naive-count.json")  # its state is the count
        return state

    def _record(self, case: SyncCase, run: Run, calls: int) -> None:
        case.pierrot.add(run, calls)
        found = SUMMARY.search(run.stdout)
        case.modes.append(found.group(1) if found else "?")

    def _progress(self, case: SyncCase, index: int) -> None:
        p, q = case.pierrot.runs[-1], case.naive.runs[-1]
        say(f"{case.label} [{index + 1}/{self.repeat}]: pierrot {case.pierrot.calls[-1]} calls {p.wall:.2f}s "
            f"cpu {p.cpu:.2f}s rss {p.rss_mib:.0f} MiB ({case.modes[-1]}); "
            f"naive {case.naive.calls[-1]} calls {q.wall:.2f}s")

    # ---- publish ---------------------------------------------------------------------------------

    def publish_cases(self, base: Path, n: int, log_entries: int) -> list[PublishCase]:
        from tests.e2e.servers import DEFAULT_IMAGE_BYTES

        ids = [p.id for p in self.fakes.flickr.photos]
        if len(ids) != n:
            raise BenchError(f"the Flickr fake holds {len(ids)} photos, expected {n}")
        step = max(1, len(ids) // log_entries)
        published = ids[::step][:log_entries]
        wal = publish_log(published)
        cases = [
            PublishCase("every size under 5 MB (k = 1.4 MB)", dict(REALISTIC_IMAGE_BYTES)),
            PublishCase("the e2e fake's default sizes (k = 6 MiB, over X's 5 MB)", dict(DEFAULT_IMAGE_BYTES)),
        ]
        images, x = self.fakes.images, self.fakes.x
        try:
            for case in cases:
                images.sizes = dict(case.sizes)
                for index in range(self.repeat):
                    home = self.new_home()
                    shutil.copytree(base, home / "store")
                    (home / "store" / "pierrot-wal.json").write_bytes(wal)
                    image_before, x_before = len(images.requests), len(x.calls)
                    run, flickr_calls = self.pierrot(home, "publish", timeout=300)
                    downloads = images.requests[image_before:]
                    paths = Counter(c.path for c in x.calls[x_before:])
                    http = {
                        "image downloads": len(downloads),
                        "X upload": paths.pop("/2/media/upload", 0),
                        "X metadata": paths.pop("/2/media/metadata", 0),
                        "X post": paths.pop("/2/tweets", 0),
                        "X other": sum(paths.values()),
                        "Flickr API": flickr_calls,
                    }
                    entries = json.loads((home / "store" / "pierrot-wal.json").read_bytes())["entries"]
                    if len(entries) != log_entries + 1 or entries[-1]["status"] != "published":
                        raise BenchError(f"the publish log does not end with the new post:\n{run.describe()}")
                    case.sample.add(run, flickr_calls)
                    case.http.append(http)
                    case.image_requests.append(", ".join(f"{r.label} (HTTP {r.status})" for r in downloads))
                    shutil.rmtree(home)
                    x.reset()  # its duplicate-text check must not see the previous run's post
                    say(f"publish, {case.label} [{index + 1}/{self.repeat}]: {run.wall:.2f}s cpu {run.cpu:.2f}s "
                        f"rss {run.rss_mib:.0f} MiB; {http}")
        finally:
            images.reset()
        return cases

    # ---- publish to several networks ----------------------------------------------------------------

    def networks_cases(self, n: int, log_photos: int) -> list[NetworksRun]:
        """``pierrot publish`` to X, Bluesky and Mastodon together, then to each alone, at N photos."""
        from tests.e2e.servers import DEFAULT_IMAGE_BYTES

        fakes, flickr = self.fakes, self.fakes.flickr
        flickr.latency = 0.0
        flickr.populate(n)
        home = self.new_home()
        self.pierrot(home, "sync", timeout=self.timeout(minimal_calls(n)))  # the catalogue each run starts from
        base = self.workdir / f"networks-base-{n}"
        shutil.move(str(home / "store"), base)
        shutil.rmtree(home)
        flickr.latency = self.latency  # publish should not call Flickr; if it does, it pays as sync does
        posted = flickr.photos[:: max(1, n // log_photos)][:log_photos]
        networks = NETWORK_RUNS[0]
        wal = network_log([(p.id, p.title) for p in posted], networks)
        entries = len(posted) * len(networks)
        runs = [NetworksRun(combination, label, dict(sizes))
                for label, sizes in (("realistic (k = 1.4 MB, h = 800 kB)", REALISTIC_IMAGE_BYTES),
                                     ("e2e fake's (k = 6 MiB, h = 3 MiB)", DEFAULT_IMAGE_BYTES))
                for combination in NETWORK_RUNS]
        try:
            for case in runs:  # untimed, with -v: pierrot logs each size it requests and does not use
                self._networks_run(case, base, wal, entries, verbose=True)
            for index in range(self.repeat):  # interleaved, so that drift in the machine's load spreads evenly
                for case in runs:
                    self._networks_run(case, base, wal, entries)
                    say(f"publish to {case.label}, {case.sizes_label} sizes [{index + 1}/{self.repeat}]: "
                        f"{case.sample.runs[-1].wall:.2f}s cpu {case.sample.runs[-1].cpu:.2f}s "
                        f"rss {case.sample.runs[-1].rss_mib:.0f} MiB; "
                        + "; ".join(f"{fake} {sum(c.values())}" for fake, c in case.calls[-1].items())
                        + "; images " + ", ".join(f"{s.label} {s.status} {s.nbytes:,} B" for s in case.images[-1]))
        finally:
            fakes.forget_posts()
            fakes.images.reset()
            shutil.rmtree(base)
        return runs

    def _networks_run(self, case: NetworksRun, base: Path, wal: bytes, entries: int, *, verbose: bool = False) -> None:
        fakes = self.fakes
        fakes.forget_posts()
        fakes.images.sizes = dict(case.sizes)
        home = self.new_home()
        shutil.copytree(base, home / "store")
        (home / "store" / "pierrot-wal.json").write_bytes(wal)
        args = [*(["-v"] if verbose else []), "publish", *(a for name in case.networks for a in ("--network", name))]
        run, flickr_calls = self.pierrot(home, *args, timeout=120)
        log = json.loads((home / "store" / "pierrot-wal.json").read_bytes())["entries"]
        new = log[entries:]
        posts = {"x": len(fakes.x.posts), "bluesky": len(fakes.bluesky.posts), "mastodon": len(fakes.mastodon.statuses)}
        if (sorted(e["network"] for e in new) != sorted(case.networks) or any(e["status"] != "published" for e in new)
                or any(posts[name] != (name in case.networks) for name in posts)):
            raise BenchError(f"publish to {case.label} did not post once on each of its networks (log: {new}; "
                             f"posts on the fakes: {posts}):\n{run.describe()}")
        if verbose:
            case.refused = {m.group(1): m.group(2).strip() for m in NOT_USED.finditer(run.stderr)}
            case.verbose_images = [(s.label, s.status) for s in settled_answers(fakes.image_bytes)]
            shutil.rmtree(home)
            return
        case.sample.add(run, flickr_calls)
        case.calls.append(network_calls(fakes, flickr_calls))
        case.images.append(settled_answers(fakes.image_bytes))
        case.used.append({
            "x": ", ".join(str(u.label) for u in fakes.x.uploads.values()),
            "bluesky": ", ".join(str(b.label) for b in fakes.bluesky.blobs.values()),
            "mastodon": ", ".join(str(m.label) for m in fakes.mastodon.media.values()),
        })
        shutil.rmtree(home)


def settled_answers(app: CountingApp, wait: float = 5.0) -> list[Sent]:
    """The app's answers once each has ended: a server thread may still be writing when the client is gone."""
    import time

    deadline = time.monotonic() + wait
    while any(not s.ended for s in app.sent) and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(app.sent)


def network_calls(fakes: Fakes, flickr_calls: int) -> dict[str, Counter[str]]:
    """The calls each fake received, by endpoint ("METHOD path"), an answer other than 2xx noted with it."""

    def key(method: str, path: str, status: int) -> str:
        return f"{method} {path}" + ("" if 200 <= status < 300 else f" → {status}")

    mastodon_ids = re.compile(r"^(/api/v1/(?:media|accounts))/\w+")
    return {
        "X": Counter(key(c.method, c.path, c.status) for c in fakes.x.calls),
        "Bluesky": Counter(key(c.method, c.nsid, c.status) for c in fakes.bluesky.calls),
        "Mastodon": Counter(key(c.method, mastodon_ids.sub(r"\1/{id}", c.path), c.status)
                            for c in fakes.mastodon.calls),
        "Flickr API": Counter({"POST /services/rest/": flickr_calls} if flickr_calls else {}),
    }


def network_log(photos: Sequence[tuple[str, str]], networks: Sequence[str]) -> bytes:
    """pierrot-wal.json with each photo ``published`` on each network, oldest first, as pierrot writes it now."""
    from pierrot.adapters.networks.bluesky.rules import tid
    from pierrot.domain import PUBLISHED, LogEntry, PublishLog

    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    entries = []
    for index, (photo_id, title) in enumerate(photos):
        moment = start + dt.timedelta(hours=6 * index)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        run_id = uuid.uuid4().hex
        for network in networks:
            key = created = None
            if network == "x":
                post_id = str(1_700_000_000_000_000_000 + index)
                url = f"https://x.com/i/web/status/{post_id}"
            elif network == "bluesky":
                key = tid(int(moment.timestamp() * 1_000_000), 7)
                created = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                post_id = f"at://did:plc:e2efake7pierrotbsky2xq4/app.bsky.feed.post/{key}"
                url = f"https://bsky.app/profile/pierrot-e2e.bsky.social/post/{key}"
            else:
                key, post_id = uuid.uuid4().hex, str(110_000_000_000_000_000 + index)
                url = f"https://photos.example/@someone/{post_id}"
            entries.append(LogEntry(photo_id, network, PUBLISHED, run_id, stamp, stamp, post_id=post_id, post_url=url,
                                    title=title, text=title, key=key, created_at=created))
    doc = PublishLog(entries).to_doc()
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def publish_log(photo_ids: Sequence[str]) -> bytes:
    """pierrot-wal.json with one ``published`` entry per photo, oldest first, as pierrot writes it."""
    from pierrot.domain import PUBLISHED, LogEntry, PublishLog

    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    entries = []
    for index, photo_id in enumerate(photo_ids):
        moment = (start + dt.timedelta(hours=6 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        post_id = str(1_700_000_000_000_000_000 + index)
        entries.append(LogEntry(photo_id, "x", PUBLISHED, uuid.uuid4().hex, moment, moment, post_id=post_id,
                                post_url=f"https://x.com/i/web/status/{post_id}", title=f"Photo {index}"))
    doc = PublishLog(entries).to_doc()
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def importers(entries: Sequence[tuple[int, str, int, int]]) -> list[tuple[str, int, int, str]]:
    """(module, self µs, cumulative µs, the module that imported it) for ``parse_importtime``'s entries."""
    found = []
    for index, (depth, name, own, cum) in enumerate(entries):
        # A module is printed after everything it imports: its importer is the next line one level up.
        parent = next((n for d, n, _, _ in entries[index + 1:] if d < depth), "")
        found.append((name, own, cum, parent))
    return found


def parse_importtime(text: str) -> list[tuple[int, str, int, int]]:
    """``-X importtime`` lines as (depth, module, self µs, cumulative µs)."""
    found = []
    for line in text.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        found.append((depth, name.strip(), int(parts[0]), int(parts[1])))
    return found


# ==== the report ================================================================================


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, padded so that it reads in a terminal too."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "**missed**")


def targets(results: Results) -> list[tuple[str, str, str, str, str]]:
    """(what, target, measured, verdict, gap) for every target of issue 5."""
    rows: list[tuple[str, str, str, str, str]] = []
    for case in results.sync:
        calls = case.pierrot
        ok = calls.worst_calls == case.target_calls
        gap = "" if ok else f"{calls.worst_calls - case.target_calls:+,} calls"
        rows.append((f"{case.label}: Flickr calls", f"= {case.target_calls:,}", calls.calls_text(), verdict(ok), gap))
        if case.kind != "first":
            continue
        budget = WALL_TARGET * case.ideal
        ratio = calls.wall / case.ideal
        ok = calls.wall <= budget
        gap = "" if ok else (
            f"{calls.wall - budget:.2f} s over the {budget:.2f} s budget ({calls.wall / budget:.1f}× it); "
            f"pierrot's own CPU time is {calls.cpu:.2f} s"
            + (" — more than the whole budget" if calls.cpu > budget else "")
        )
        rows.append((f"{case.label}: wall time", f"≤ {WALL_TARGET} × {case.ideal:.2f} s = {budget:.2f} s",
                     f"{calls.wall:.2f} s = {ratio:.2f} × ideal", verdict(ok), gap))
        if case.n == RSS_TARGET_AT:
            ok = calls.rss <= RSS_TARGET_MIB
            gap = "" if ok else f"{calls.rss - RSS_TARGET_MIB:.0f} MiB over (+{calls.rss / RSS_TARGET_MIB - 1:.0%})"
            rows.append((f"{case.label}: peak RSS", f"≤ {RSS_TARGET_MIB} MiB", f"{calls.rss:.0f} MiB", verdict(ok),
                         gap))
    if RSS_TARGET_AT not in results.sizes:
        rows.append((f"first sync, N = {RSS_TARGET_AT:,}: peak RSS", f"≤ {RSS_TARGET_MIB} MiB",
                     "not measured (--quick)", verdict(None), ""))
    if results.publish:
        main = results.publish[0]
        kinds = main.kinds()
        measured = ", ".join(f"{k} {v}" for k, v in kinds.items() if k != "X other" or v != "0")
        rows.append((f"publish, {results.publish_n:,} photos, {results.log_entries:,} log entries: HTTP calls",
                     "1 image download, 1 upload, 1 metadata, 1 post, 0 Flickr", measured, verdict(main.expected()),
                     "" if main.expected() else "see the publish table"))
        after = main.sample.cpu - results.startup.help_cpu
        rows.append(("publish: CPU time after start-up", "(no figure set)", f"{after:.2f} s", "reported", ""))
    s = results.startup
    ok = s.ratio <= STARTUP_TARGET
    gap = "" if ok else f"{s.help_wall - STARTUP_TARGET * s.click_wall:.3f} s over ({s.ratio / STARTUP_TARGET:.2f}× it)"
    rows.append(("start-up: `pierrot --help` ÷ `python -c \"import click\"`", f"≤ {STARTUP_TARGET}×",
                 f"{s.ratio:.2f}× ({s.help_wall * 1000:.0f} ms ÷ {s.click_wall * 1000:.0f} ms)", verdict(ok), gap))
    return rows


def observations(results: Results) -> list[str]:
    """Facts the tables imply, worked out so that nobody has to."""
    found = []
    firsts = {c.n: c for c in results.sync if c.kind == "first"}
    for case in firsts.values():
        budget = WALL_TARGET * case.ideal
        p = case.pierrot
        if p.cpu > budget:
            found.append(
                f"First sync of {case.n:,}: pierrot's CPU time alone ({p.cpu:.2f} s) exceeds the {budget:.2f} s "
                "wall budget, so more concurrency cannot meet the target; less CPU (per photo, and at start-up) could."
            )
        elif p.cpu > 0.75 * budget and p.wall > budget:
            found.append(
                f"First sync of {case.n:,}: pierrot's CPU time ({p.cpu:.2f} s) is {p.cpu / budget:.0%} of the "
                f"{budget:.2f} s wall budget, so the target needs both less CPU and near-total overlap of that CPU "
                "with the waits for Flickr."
            )
        busy = p.cpu / p.wall
        found.append(
            f"First sync of {case.n:,}: over its {p.wall:.2f} s pierrot used {p.cpu:.2f} s of CPU, {busy:.0%} of "
            "one CPU (its threads share one through the GIL), and the fakes serving it "
            f"{p.here_cpu:.2f} s, on a {os.cpu_count()}-CPU machine whose load average was "
            f"{results.load_before[0]:.1f} before the run: "
            + ("pierrot was CPU-bound for most of the run." if busy > 0.75 else
               "pierrot spent much of the run waiting.")
        )
    for case in results.sync:
        first = firsts.get(case.n)
        if case.kind != "new" or first is None:
            continue
        found.append(
            f"k-new sync of {case.k:,} into {case.n:,}: {case.pierrot.worst_calls:,} Flickr calls "
            f"(naive: {case.naive.worst_calls:,}), {case.pierrot.cpu:.2f} s CPU and {case.pierrot.rss:.0f} MiB "
            f"peak RSS (first sync of {case.n:,}: {first.pierrot.cpu:.2f} s, {first.pierrot.rss:.0f} MiB)."
        )
    big = [(f"{c.label} ({c.pierrot.rss:.0f} MiB)") for c in results.sync
           if c.n == RSS_TARGET_AT and c.pierrot.rss > RSS_TARGET_MIB]
    big += [f"publish, {c.label} ({c.sample.rss:.0f} MiB)" for c in results.publish
            if results.publish_n == RSS_TARGET_AT and c.sample.rss > RSS_TARGET_MIB]
    if big:
        found.append(f"Runs at {RSS_TARGET_AT:,} photos with a peak RSS over {RSS_TARGET_MIB} MiB (the target is set "
                     "for the first sync only): " + "; ".join(big) + ".")
    for case in results.sync:
        if case.kind == "no-change" and case.pierrot.wall > case.naive.wall * 1.1:
            found.append(
                f"No-change sync of {case.n:,}: one call either way, but pierrot takes {case.pierrot.wall:.2f} s "
                f"and {case.pierrot.rss:.0f} MiB against the naive {case.naive.wall:.2f} s and "
                f"{case.naive.rss:.0f} MiB: it also verifies the catalogue's version token (for a local store, "
                "a hash of the whole file)."
            )
    return found


def report(results: Results) -> str:
    """docs/performance.md."""
    r = results
    out = [
        "# Performance",
        "",
        f"Measured by `tests/benchmarks/run.py` (issue 5) on {r.started:%Y-%m-%d %H:%M} UTC"
        f"{' — a **--quick** smoke run with small sizes' if r.quick else ''}. Regenerate with the command below;",
        "each full run overwrites this file, except the hand-written Lambda section at its end, which it keeps.",
        "",
        *(["**Warning: pierrot's source files changed while this ran, so these figures mix versions of the code. "
           "Run it again.**", ""] if r.code_changed else []),
        "## Machine and command",
        "",
        machine_table(r),
        "",
        "## How it is measured",
        "",
        f"- The fakes of `tests/e2e/servers.py` (Flickr REST API, image host, X API) serve from the benchmark "
        f"process on 127.0.0.1; the Flickr fake adds **{r.latency * 1000:.0f} ms to every API call**.",
        "- Each run is the installed `pierrot` executable in a fresh child process (clean environment, local store "
        "in a temporary folder, settings pointing at the fakes), as cron would run it. Flickr calls are counted "
        "in the fake's log; CPU time (user + system), wall time and peak RSS are the child's own, from `os.wait4` "
        "in a tiny wrapper process that spawns it (spawned from the benchmark process, a child's peak RSS would "
        "include the benchmark's own memory).",
        f"- Times are the **median of {r.repeat} runs** (the range is given where useful); peak RSS is the largest "
        "of the runs. The machine is shared and noisy: read the figures as orders of magnitude.",
        f"- Sequential ideal = minimal calls × latency, minimal calls = 1 + ⌈N/{PER_PAGE}⌉ (the count, then every "
        f"page of {PER_PAGE}).",
        "- **Naive** is the original design: one call for the count and, whenever the count changed, every page "
        f"again ({PER_PAGE} a page, one after the other), with the same per-photo work as pierrot (records via "
        "`pierrot.adapters.flickr_records.photo_from_item`, the catalogue written as pierrot writes it), run as a "
        "child process the same way.",
        "- *fake CPU* is the benchmark process's CPU time during a run: the fakes answering (they share the "
        f"machine's {os.cpu_count()} CPUs with pierrot).",
        "",
        "## Targets",
        "",
        table(("what", "target", "measured", "verdict", "gap"), targets(r)),
        "",
        *([("## Observations"), "", *(f"- {line}" for line in observations(r)), ""] if observations(r) else []),
        "## Sync",
        "",
        table(
            ("case", "Flickr calls (target)", "wall s (median)", "range", "ideal s", "wall ÷ ideal", "CPU s",
             "peak RSS MiB", "fake CPU s", "mode"),
            [
                (c.label, f"{c.pierrot.calls_text()} ({c.target_calls:,})", f"{c.pierrot.wall:.2f}",
                 c.pierrot.spread(), f"{c.ideal:.2f}", f"{c.pierrot.wall / c.ideal:.2f}", f"{c.pierrot.cpu:.2f}",
                 f"{c.pierrot.rss:.0f}", f"{c.pierrot.here_cpu:.2f}", "/".join(sorted(set(c.modes))))
                for c in r.sync
            ],
        ),
        "",
        "## Sync: pierrot against the naive full refetch",
        "",
        table(
            ("case", "calls pierrot", "calls naive", "naive ÷ pierrot calls", "wall pierrot s", "wall naive s",
             "naive ÷ pierrot wall", "naive wall ÷ its ideal", "CPU naive s", "peak RSS naive MiB"),
            [
                (c.label, c.pierrot.calls_text(), c.naive.calls_text(),
                 f"{c.naive.worst_calls / c.pierrot.worst_calls:.1f}×", f"{c.pierrot.wall:.2f}", f"{c.naive.wall:.2f}",
                 f"{c.naive.wall / c.pierrot.wall:.1f}×", f"{c.naive.wall / c.naive_ideal:.2f}",
                 f"{c.naive.cpu:.2f}", f"{c.naive.rss:.0f}")
                for c in r.sync
            ],
        ),
        "",
    ]
    if r.publish:
        help_cpu = r.startup.help_cpu
        kinds = list(r.publish[0].kinds())
        out += [
            f"## Publish: {r.publish_n:,}-photo catalogue, {r.log_entries:,}-entry publish log",
            "",
            table(
                ("image sizes", *kinds, "image requests", "wall s (median)", "CPU s", "CPU after start-up s",
                 "peak RSS MiB"),
                [
                    (c.label, *c.kinds().values(), c.image_requests[0], f"{c.sample.wall:.2f}", f"{c.sample.cpu:.2f}",
                     f"{c.sample.cpu - help_cpu:.2f}", f"{c.sample.rss:.0f}")
                    for c in r.publish
                ],
            ),
            "",
            f"CPU after start-up = the publish run's CPU time − the median CPU time of `pierrot --help` "
            f"({help_cpu:.3f} s). The log holds one `published` entry for every "
            f"{max(1, r.publish_n // r.log_entries)}th photo of the catalogue; the X fake and the image host add no "
            "latency.",
            "",
        ]
    s = r.startup
    out += [
        f"## Start-up (median of {len(s.help_runs)} interleaved runs each, after one warm-up)",
        "",
        table(
            ("command", "wall ms (median)", "range ms", "CPU ms (median)"),
            [
                ("`pierrot --help`", f"{s.help_wall * 1000:.0f}", _ms_range(s.help_runs), f"{s.help_cpu * 1000:.0f}"),
                ("`python -c \"import click\"`", f"{s.click_wall * 1000:.0f}", _ms_range(s.click_runs),
                 f"{s.click_cpu * 1000:.0f}"),
            ],
        ),
        "",
        f"Ratio {s.ratio:.2f}× (target ≤ {STARTUP_TARGET}×). Heavy libraries imported by "
        "`import pierrot.entrypoints.cli`: "
        + (", ".join(f"`{m}`" for m in s.heavy) if s.heavy else "none of " + ", ".join(f"`{m}`" for m in
                                                                                      HEAVY_MODULES)) + ".",
        "",
    ]
    if s.ratio > STARTUP_TARGET and s.importtime:
        total = sum(own for _, _, own, _ in s.importtime)
        top = sorted(importers(s.importtime), key=lambda e: e[1], reverse=True)[:15]
        mine = [(name, cum) for depth, name, _, cum in s.importtime if name.split(".")[0] == "pierrot"]
        out += [
            f"Over the target. `python -X importtime -c \"import pierrot.entrypoints.cli\"` (one run) adds up to "
            f"{total / 1000:.1f} ms; the modules taking the most time themselves (self excludes what they import):",
            "",
            table(("module", "self ms", "cumulative ms", "imported by"),
                  [(name, f"{own / 1000:.1f}", f"{cum / 1000:.1f}", parent) for name, own, cum, parent in top]),
            "",
            "pierrot's own modules, cumulative: " + ", ".join(f"`{n}` {c / 1000:.1f} ms" for n, c in mine) + ".",
            "",
        ]
    return "\n".join(out)


# The fewest calls that can post one photo with its alt text: X uploads, sets the alt text, posts; Bluesky logs in,
# uploads the blob, writes the record; Mastodon reads the instance's limits, uploads with the description, posts.
FEWEST_CALLS = {"X": 3, "Bluesky": 3, "Mastodon": 3}
FAKE_OF = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def networks_section(r: Results) -> str:
    """The networks case's section of docs/performance.md, between its markers."""
    runs = r.networks
    every = r.networks_photos // r.networks_log_photos
    entries = r.networks_log_photos * len(NETWORK_RUNS[0])
    repeat = len(runs[0].sample.runs)
    fakes = ["X", "Bluesky", "Mastodon", "Flickr API"]
    out = [
        NETWORKS_BEGIN,
        f"## Publish to X, Bluesky and Mastodon: {r.networks_photos:,}-photo catalogue, {entries:,}-entry publish log",
        "",
        f"Measured by `tests/benchmarks/run.py` on {r.started:%Y-%m-%d %H:%M} UTC"
        f"{' — a **--quick** smoke run' if r.quick else ''}, with `{r.command}` (repository root, project venv "
        "active); `--case networks` measures only this and rewrites only this section, a full run measures it too.",
        "",
        *(["**Warning: pierrot's source files changed while this ran, so these figures mix versions of the code. "
           "Run it again.**", ""] if r.code_changed else []),
        machine_table(r),
        "",
        "- Each run is `pierrot publish` with a `--network` for each network of its row: the installed executable in "
        "a fresh child process (clean environment, local store in a temporary folder), against fakes served by the "
        "benchmark process on 127.0.0.1 with no added latency: Flickr, its image host and X (`tests/e2e/servers.py`), "
        "a Bluesky PDS (`tests/e2e/fake_bluesky.py`, blobs up to 1,000,000 bytes) and a Mastodon 4.5 instance "
        "(`tests/e2e/fake_mastodon.py`, 16 MiB images, media processed at once).",
        f"- The store: a copy of one synced catalogue of {r.networks_photos:,} photos, and a publish log in which "
        f"{r.networks_log_photos:,} of them (one in every {every}) are published on all three networks "
        f"({entries:,} entries, each with its text and, for Bluesky and Mastodon, its key).",
        "- HTTP calls are counted in each fake's log, by endpoint; image requests at the image host. Which requests "
        "pierrot gave up on without reading the body (a Content-Length over the run's byte cap) comes from pierrot "
        "itself: one more, untimed run of each row with `-v`, where it logs each size it requests and does not use. "
        "A *download* is a request whose body pierrot read to the end; its bytes are the body's. For a request given "
        "up on, the bytes the host managed to write before the connection closed are shown too: they depend on "
        "socket buffering (loopback buffers take megabytes).",
        f"- Each row ran **{repeat} time{'s' if repeat != 1 else ''}**, interleaved with the other rows; wall "
        "time, CPU time (user + system of "
        "the child, from `os.wait4`) and peak RSS are **medians**, with the range of the wall times.",
        "- Every photo of the Flickr fake has an original (o) of 6000 × 4000 = 24 MP and 12 MiB, which sync leaves "
        "out (no network keeps more than 8.3 MP), then k 2048, h 1600, l 1024, c 800 and z 640 pixels wide, in "
        "one of two byte-size sets: realistic Flickr JPEGs (k 1,400,000 bytes, h 800,000, l 400,000), and the e2e "
        "fake's defaults (k 6 MiB, over X's 5 MB; h 3 MiB, over Bluesky's 1 MB), which make each network take a "
        "different size.",
        "",
        "### Targets",
        "",
        table(("what", "target", "measured", "verdict"), networks_targets(runs)),
        "",
        "### Runs",
        "",
        table(
            ("image sizes", "networks", *(f"{f} calls" for f in fakes), "image requests", "downloads",
             "bytes downloaded", "wall s (median)", "range", "CPU s (median)", "peak RSS MiB (median)"),
            [(c.sizes_label, c.label, *(c.total(f) for f in fakes), *c.downloads(), f"{c.sample.wall:.2f}",
              c.sample.spread(), f"{c.sample.cpu:.2f}", f"{c.rss():.0f}") for c in runs],
        ),
        "",
        "### HTTP calls by endpoint (per run)",
        "",
    ]
    by_sizes: dict[str, list[NetworksRun]] = {}
    for case in runs:
        by_sizes.setdefault(case.sizes_label, []).append(case)
    groups = list(by_sizes.values())
    same = all(endpoint_rows(g) == endpoint_rows(groups[0]) for g in groups)
    for group in groups[:1] if same else groups:
        if not same:
            out += [f"With the {group[0].sizes_label} image sizes:", ""]
        out += [table(("fake", "endpoint", *(c.label for c in group)), endpoint_rows(group)), ""]
    if same and len(groups) > 1:
        out += ["The same with both image-size sets.", ""]
    out += [
        "### Image requests (first run of each row; the others were the same unless noted)",
        "",
        table(("image sizes", "networks", "requests, in order: size, HTTP status, what pierrot did",
               "size each network was sent"),
              [(c.sizes_label, c.label, describe_images(c) + (
                  "" if len({tuple((s.label, s.status) for s in i) for i in c.images} | {tuple(c.verbose_images)}) == 1
                  else " (other runs requested otherwise)"),
                ", ".join(f"{NETWORK_NAMES[n]} {c.used[0][n] or '–'}" for n in c.networks)
                + ("" if all(u == c.used[0] for u in c.used) else " (varied between runs)"))
               for c in runs]),
        "",
    ]
    notes = networks_observations(runs)
    if notes:
        out += ["### Observations", "", *(f"- {line}" for line in notes), ""]
    out.append(NETWORKS_END)
    return "\n".join(out)


def machine_table(r: Results) -> str:
    def load(averages: tuple[float, float, float]) -> str:
        return " / ".join(f"{v:.2f}" for v in averages)

    return table(("", ""), [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical CPUs (`nproc` {nproc()})"),
        ("system", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("pierrot", f"{pierrot_version()}, commit {r.commit_before}" + (
            "" if r.commit_after == r.commit_before else f" at the start, {r.commit_after} at the end")),
        ("date", f"{r.started:%Y-%m-%d %H:%M:%S} – {r.finished:%H:%M:%S} UTC" if r.finished else ""),
        ("load average (1/5/15 min)", f"{load(r.load_before)} before, {load(r.load_after)} after "
                                      "(a shared machine: other work ran meanwhile)"),
        ("command", f"`{r.command}` (repository root, project venv active)"),
    ])


def endpoint_rows(group: Sequence[NetworksRun]) -> list[tuple[str, ...]]:
    """(fake, endpoint, calls in each run of the group), endpoints in the order they were first called."""
    seen: dict[tuple[str, str], None] = {}
    for case in group:
        for calls in case.calls:
            for fake, counter in calls.items():
                for endpoint in counter:
                    seen.setdefault((fake, endpoint), None)

    def cell(case: NetworksRun, fake: str, endpoint: str) -> str:
        calls = case.endpoint(fake, endpoint)
        return "–" if calls == "0" else calls

    return [(fake, f"`{endpoint}`", *(cell(case, fake, endpoint) for case in group)) for fake, endpoint in seen]


def describe_images(case: NetworksRun) -> str:
    """The first run's image requests, each with what pierrot did with it."""
    parts = []
    for s in case.images[0]:
        body = f"{s.declared:,}" if s.declared is not None else "?"
        if case.read(s):
            parts.append(f"{s.label} {s.status}: read, {body} bytes")
        elif s.label in case.refused:
            parts.append(f"{s.label} {s.status}: not read, {case.refused[s.label]}; body {body} bytes, the host "
                         f"wrote {s.nbytes:,}")
        else:
            parts.append(f"{s.label} {s.status}")
    return "; ".join(parts) or "none"


def networks_targets(runs: Sequence[NetworksRun]) -> list[tuple[str, str, str, str]]:
    rows = []
    repeated = [f"{c.label}, {c.sizes_label}: {', '.join(c.repeated_sizes())}" for c in runs if c.repeated_sizes()]
    rows.append(("image sizes requested per run", "each size at most once",
                 "; ".join(repeated) if repeated else "each at most once in every run", verdict(not repeated)))
    flickr = [c.total("Flickr API") for c in runs]
    rows.append(("Flickr API calls per publish", "0", ", ".join(sorted(set(flickr))), verdict(set(flickr) == {"0"})))
    for name, fake in FAKE_OF.items():
        mine = [c for c in runs if name in c.networks]
        counts = sorted({int(v) for c in mine for v in [sum(x.get(fake, Counter()).values()) for x in c.calls]})
        rows.append((f"{fake} calls per post", f"{FEWEST_CALLS[fake]} (the fewest that can post with alt text)",
                     ", ".join(map(str, counts)), verdict(counts == [FEWEST_CALLS[fake]])))
    others = sorted({f"{f}: {c.total(f)} in a run without it" for c in runs for name, f in FAKE_OF.items()
                     if name not in c.networks and c.total(f) != "0"})
    rows.append(("calls to a network not in the run", "0", "; ".join(others) or "0", verdict(not others)))
    return rows


def networks_observations(runs: Sequence[NetworksRun]) -> list[str]:
    """Facts the networks tables imply, worked out."""
    found = []
    by_sizes: dict[str, dict[tuple[str, ...], NetworksRun]] = {}
    for case in runs:
        by_sizes.setdefault(case.sizes_label, {})[case.networks] = case
    for label, cases in by_sizes.items():
        together = cases.get(NETWORK_RUNS[0])
        alone = [cases[n] for n in NETWORK_RUNS[1:] if n in cases]
        if together is None or len(alone) != len(NETWORK_RUNS) - 1:
            continue
        wall = sum(c.sample.wall for c in alone)
        cpu = sum(c.sample.cpu for c in alone)
        differ = [f"{fake} {together.total(fake)} together against {sum(int(c.total(fake)) for c in alone)} alone"
                  for fake in FAKE_OF.values()
                  if together.total(fake).isdigit() and all(c.total(fake).isdigit() for c in alone)
                  and int(together.total(fake)) != sum(int(c.total(fake)) for c in alone)]
        found.append(
            f"{label} sizes: one run to all three networks takes {together.sample.wall:.2f} s wall and "
            f"{together.sample.cpu:.2f} s CPU; the three single-network runs add up to {wall:.2f} s and {cpu:.2f} s. "
            + ("Each network gets the same calls either way." if not differ else
               "Calls differ between together and alone: " + "; ".join(differ) + ".")
        )
        requests, downloads, nbytes = together.median_figures()
        singles = [c.median_figures() for c in alone]
        found.append(
            f"{label} sizes: the run to all three makes {requests} image requests and {downloads} downloads "
            f"({nbytes:,} bytes); the three single runs make {sum(f[0] for f in singles)} requests and "
            f"{sum(f[1] for f in singles)} downloads ({sum(f[2] for f in singles):,} bytes) between them."
        )
    for case in runs:
        sent_to = {label: [NETWORK_NAMES[n] for n in case.networks if case.used[0][n] == label]
                   for label in {s.label for s in case.images[0]}}
        unused = [s for s in case.images[0] if case.read(s) and not sent_to[s.label]]
        if unused:
            found.append(
                f"{case.label}, {case.sizes_label} sizes: " + "; ".join(
                    f"{s.label} ({s.declared or s.nbytes:,} bytes) was downloaded in full and sent to no network"
                    for s in unused)
                + "."
            )
        if len(case.networks) > 1:
            declared = {s.label: s.declared for s in case.images[0]}
            found.append(
                f"{case.label}, {case.sizes_label} sizes: the sizes sent were " + ", ".join(
                    f"{NETWORK_NAMES[n]} {case.used[0][n]} ({declared.get(case.used[0][n]) or 0:,} bytes)"
                    for n in case.networks) + "."
            )
    for case in runs:
        early = [s for s in case.images[0] if s.label in case.refused]
        if early:
            found.append(
                f"{case.label}, {case.sizes_label} sizes: {len(early)} of {len(case.images[0])} image requests were "
                "given up on: " + "; ".join(f"{s.label} ({s.declared or 0:,} bytes, {case.refused[s.label]})"
                                           for s in early) + "."
            )
    return found


def _ms_range(runs: Sequence[Run]) -> str:
    walls = [r.wall * 1000 for r in runs]
    return f"{min(walls):.0f}–{max(walls):.0f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return str(len(os.sched_getaffinity(0)))


def code_fingerprint() -> str:
    """A digest of pierrot's source files, to notice the code changing under a run."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "pierrot").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "pierrot"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' with uncommitted changes in pierrot/' if dirty else ''}"


def pierrot_version() -> str:
    try:
        from pierrot import __version__
    except ImportError:
        return "unknown"
    return __version__


def pierrot_executable() -> str:
    found = Path(sys.executable).parent / "pierrot"
    if found.exists():
        return str(found)
    which = shutil.which("pierrot")
    if which is None:
        raise BenchError("the pierrot executable is not installed: run `pip install -e '.[test]'` in the venv")
    return which


# ==== the report file ===========================================================================


def section(text: str, begin: str, end: str) -> tuple[int, int] | None:
    """Where the block from the line starting ``begin`` to the line ``end`` (both included) is in ``text``."""
    start = text.find(begin)
    if start < 0:
        return None
    stop = text.find(end, start)
    return None if stop < 0 else (start, stop + len(end))


def full_report(results: Results, previous: str) -> str:
    """The whole file: the generated report, the networks section, and the Lambda section carried over."""
    parts = [report(results).rstrip("\n")]
    if results.networks:
        parts.append(networks_section(results))
    kept = section(previous, LAMBDA_BEGIN, LAMBDA_END)
    if kept is not None:
        parts.append(previous[kept[0]:kept[1]])
    return "\n\n\n".join(parts) + "\n"


def with_networks_section(previous: str, results: Results) -> str:
    """``previous`` with the networks section replaced, or put before the Lambda section (or at the end)."""
    new = networks_section(results)
    found = section(previous, NETWORKS_BEGIN.split(":")[0], NETWORKS_END)
    if found is not None:
        return previous[:found[0]] + new + previous[found[1]:]
    hand = section(previous, LAMBDA_BEGIN, LAMBDA_END)
    at = hand[0] if hand is not None else len(previous)
    head, tail = previous[:at].rstrip("\n"), previous[at:]
    return (head + "\n\n\n" if head else "") + new + ("\n\n\n" + tail if tail else "\n")


# ==== main ======================================================================================


# The compose case: photos whose title and description are COMPOSE_CHARS characters of one hostile shape, the
# post template uses every free-text field and the alt text is composed too. A shape that takes longer than
# COMPOSE_CAP seconds at a length is not timed at the next: its time at COMPOSE_CHARS is extrapolated from the
# growth between the last two lengths (marked ~).
COMPOSE_CHARS = 8_000
COMPOSE_CAP = 5.0
COMPOSE_SHAPES = {
    "a.a.a.": "a.", "ab.ab.": "ab.", "a.co.": "a.co.", "CJK": "日本語", "emoji family": "👨\u200d👩\u200d👧\u200d👦",
    "flags": "🇫🇷", "combining marks": "e\u0301\u0316", "#": "#", "@a": "@a",
    "URLs": "https://www.flickr.com/photos/someone/1/ ", "http://": "http://", "<!--": "<!--", "<p": "<p", "x": "x",
}


def compose_child(spec: dict[str, Any]) -> int:
    """``--compose-child``: time composing each hostile shape on each network, printed as JSON lines."""
    import time

    sys.path.insert(0, spec["source"])  # before this checkout, which the top of this file put first
    from pierrot.adapters.networks import bluesky, mastodon
    from pierrot.adapters.networks.x import text as xtext
    from pierrot.domain import Photo, compose

    print(json.dumps({"package": str(Path(compose.__file__).parent)}), flush=True)

    def measure_of(rules: Any) -> Callable[[str], int]:
        def measure(text: str) -> int:  # as publishing measures: over the byte cap is over the limit
            if getattr(rules, "max_text_bytes", None) and len(text.encode()) > rules.max_text_bytes:
                return int(rules.text_limit) + 1
            return int(rules.measure(text))
        return measure

    xtext.weighted_length("a.co")  # compile the vendored expressions first
    for rules in (xtext.RULES, bluesky.RULES, mastodon.DEFAULT_RULES):
        for shape, unit in COMPOSE_SHAPES.items():
            times: list[tuple[int, float]] = []
            for chars in (COMPOSE_CHARS // 16, COMPOSE_CHARS // 8, COMPOSE_CHARS // 4, COMPOSE_CHARS // 2,
                          COMPOSE_CHARS):
                text = (unit * (chars // len(unit) + 1))[:chars]
                photo = Photo("1", title=text, description=text, tags=(text, "tag"), owner="1@N00")
                started = time.perf_counter()
                compose.compose_post(photo, "{title}\n{description}\n{tags}", True, measure=measure_of(rules),
                                     limit=rules.text_limit)
                compose.compose_alt_text(photo, "{title}. {description}", limit=rules.alt_limit)
                times.append((chars, time.perf_counter() - started))
                if times[-1][1] > spec["cap"]:
                    break
            (n0, t0), (n1, t1) = times[-2], times[-1]
            extrapolated = n1 < COMPOSE_CHARS
            growth = math.log(max(t1, 1e-6) / max(t0, 1e-6)) / math.log(n1 / n0)
            seconds = t1 * (COMPOSE_CHARS / n1) ** max(growth, 1.0) if extrapolated else t1
            print(json.dumps({"network": rules.name, "shape": shape, "seconds": seconds,
                              "extrapolated": extrapolated, "timed_up_to": n1}), flush=True)
    return 0


def compose_report(source: Path | None) -> int:
    """The compose case: the worst hostile shape per network, with this checkout's pierrot or ``source``'s."""
    spec = json.dumps({"cap": COMPOSE_CAP, "source": str((source or ROOT).resolve())})
    run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--compose-child", spec],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        say(f"run.py: the compose child failed: {run.stderr.strip()[-2000:]}")
        return 1
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    rows = [line for line in lines if "network" in line]
    package = next(line["package"] for line in lines if "package" in line)
    print(f"Compose time of a photo whose title and description are {COMPOSE_CHARS:,} characters of one hostile "
          f"shape (post and alt text), pierrot from {package}:")
    print("| network | worst shape | seconds | next worst |")
    print("|---|---|---:|---|")
    for network in dict.fromkeys(row["network"] for row in rows):
        ranked = sorted((row for row in rows if row["network"] == network), key=lambda row: -row["seconds"])

        def figure(row: dict[str, Any]) -> str:
            mark = "~" if row["extrapolated"] else ""
            return f"{mark}{row['seconds']:.3f}"

        print(f"| {network} | {ranked[0]['shape']} | {figure(ranked[0])} | "
              + ", ".join(f"{row['shape']} {figure(row)}" for row in ranked[1:4]) + " |")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"N = {QUICK_SIZES[0]:,} and {QUICK_SIZES[1]:,}, one run each, a {QUICK_LOG_ENTRIES:,}"
                             "-entry log: a smoke run that writes no file unless --output is given")
    parser.add_argument("--output", type=Path, help=f"where to write the report (default: {DEFAULT_OUTPUT}; "
                                                    "none with --quick)")
    parser.add_argument("--repeat", type=int, help="runs of each measurement (default 3, 1 with --quick)")
    parser.add_argument("--sizes", type=lambda t: tuple(int(v) for v in t.split(",")),
                        help="comma-separated photostream sizes, overriding the defaults (the last one is used "
                             "for publish)")
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds added to each Flickr API call")
    parser.add_argument("--case", choices=CASES, default="all",
                        help="all (the default), or only networks: publish to X, Bluesky and Mastodon together and "
                             f"each alone at {NETWORKS_PHOTOS:,} photos ({QUICK_NETWORKS_PHOTOS:,} with --quick), "
                             "rewriting only its section of the report")
    parser.add_argument("--source", type=Path, help="with --case compose: the folder holding the pierrot package "
                                                     "to time (default: this checkout)")
    parser.add_argument("--naive-child", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--compose-child", metavar="JSON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.naive_child:
        return naive_child(json.loads(args.naive_child))
    if args.compose_child:
        return compose_child(json.loads(args.compose_child))
    if args.case == "compose":
        return compose_report(args.source)
    sizes: tuple[int, ...] = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    repeat = args.repeat or (1 if args.quick else 3)
    output: Path | None = args.output or (None if args.quick else DEFAULT_OUTPUT)
    log_entries = min(QUICK_LOG_ENTRIES if args.quick else FULL_LOG_ENTRIES, max(1, sizes[-1] // 2))
    script = os.path.relpath(Path(__file__).resolve(), Path.cwd())
    command = shlex.join(["python", script, *(argv if argv is not None else sys.argv[1:])])
    try:
        executable = pierrot_executable()
        import werkzeug  # noqa: F401 - the fakes need the test extra
    except (BenchError, ImportError) as exc:
        say(f"run.py: {exc} (use the project's venv: . .venv/bin/activate)")
        return 2

    results = Results(args.quick, sizes, NEW_PHOTOS, repeat, args.latency, log_entries, command,
                      dt.datetime.now(dt.UTC), os.getloadavg(), git_commit(), code_before=code_fingerprint())
    results.networks_photos = QUICK_NETWORKS_PHOTOS if args.quick else NETWORKS_PHOTOS
    results.networks_log_photos = QUICK_NETWORKS_LOG_PHOTOS if args.quick else NETWORKS_LOG_PHOTOS
    if args.case == "networks":
        say(f"benchmarks: publish to X, Bluesky and Mastodon at N = {results.networks_photos:,}, {repeat} run(s) "
            "of each row; this takes a minute")
    else:
        say(f"benchmarks: N = {', '.join(f'{n:,}' for n in sizes)}, {repeat} run(s) each, "
            f"{args.latency * 1000:.0f} ms per Flickr call; this takes "
            f"{'a minute' if args.quick else 'several minutes'}")
    try:
        with tempfile.TemporaryDirectory(prefix="pierrot-bench-") as workdir:
            fakes = Fakes()
            try:
                bench = Bench(fakes, executable, Path(workdir), repeat, args.latency)
                if args.case == "all":
                    results.startup = bench.startup(STARTUP_RUNS)
                    for n in sizes:
                        cases, base = bench.sync_cases(n, NEW_PHOTOS)
                        results.sync += cases
                        if n == sizes[-1]:
                            results.publish = bench.publish_cases(base, n, log_entries)
                            results.publish_n = n
                        shutil.rmtree(base)
                results.networks = bench.networks_cases(results.networks_photos, results.networks_log_photos)
            finally:
                fakes.stop()
    except BenchError as exc:
        say(f"run.py: benchmark aborted: {exc}")
        return 1
    except KeyboardInterrupt:
        say("run.py: interrupted; the fakes are stopped and the temporary folder removed")
        return 130
    results.finished = dt.datetime.now(dt.UTC)
    results.load_after = os.getloadavg()
    results.commit_after = git_commit()
    results.code_after = code_fingerprint()
    if results.code_changed:
        say("run.py: WARNING: pierrot's source changed during the run, so the figures mix versions: run it again")

    previous = output.read_text() if output is not None and output.exists() else ""
    if args.case == "networks":
        print(networks_section(results))
        text = with_networks_section(previous, results)
    else:
        text = full_report(results, previous)
        print(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        say(f"written to {output}")
    else:
        say("no report file written (--quick without --output)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
