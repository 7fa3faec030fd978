"""Fixtures for the end-to-end tests: the fake servers, and the installed ``pierrot`` run as cron would run it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fake_bluesky import BlueskyFake
from tests.e2e.fake_mastodon import MastodonFake
from tests.e2e.servers import FakeServers, FlickrFake, ImageHost, S3Fake, XFake, clean_environment, start_servers

LOG = "pierrot-wal.json"
CATALOGUE = "pierrot-db.json"
META = "pierrot-meta.json"


def pierrot_executable() -> str:
    found = Path(sys.executable).parent / "pierrot"
    if found.exists():
        return str(found)
    which = shutil.which("pierrot")
    if which is None:
        pytest.fail("the pierrot executable is not installed: run `pip install -e '.[test]'`")
    return which


@dataclass
class Result:
    """How one run of ``pierrot`` ended."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"pierrot {' '.join(self.args)} -> exit {self.returncode} in {self.seconds:.2f}s\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )


@dataclass
class Running:
    """A pierrot started in the background."""

    proc: subprocess.Popen[str]
    args: tuple[str, ...]
    started_at: float


@dataclass
class Pierrot:
    """Runs the installed executable with a clean environment pointing at the fakes."""

    executable: str
    env: dict[str, str]
    home: Path
    servers: FakeServers
    started: list[Running] = field(default_factory=list)

    @property
    def store(self) -> Path:
        return Path(self.env["PIERROT_STORE"])

    def run(self, *args: str, env: Mapping[str, str | None] | None = None, timeout: float = 60.0) -> Result:
        """Run ``pierrot ARGS`` to the end; any traceback in its output fails the test."""
        return self.finish(self.start(*args, env=env), timeout=timeout)

    def __call__(self, *args: str, **kwargs: Any) -> Result:
        return self.run(*args, **kwargs)

    def start(self, *args: str, env: Mapping[str, str | None] | None = None) -> Running:
        """Start ``pierrot ARGS`` in the background; ``finish`` or ``kill`` it."""
        environment = dict(self.env)
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        proc = subprocess.Popen(
            [self.executable, *args],
            env=environment,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running = Running(proc, args, time.monotonic())
        self.started.append(running)
        return running

    def finish(self, running: Running, timeout: float = 60.0) -> Result:
        proc = running.proc
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            pytest.fail(f"pierrot {' '.join(running.args)} did not finish within {timeout}s:\n{stdout}{stderr}")
        result = Result(running.args, proc.returncode, stdout, stderr, time.monotonic() - running.started_at)
        assert "Traceback" not in result.output, f"a traceback reached the user:\n{result}"
        return result

    def kill(self, running: Running) -> Result:
        """SIGKILL a running pierrot, as a crash or an OOM kill would."""
        proc = running.proc
        assert proc.poll() is None, "pierrot finished before the test could kill it"
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        return Result(running.args, proc.returncode, stdout, stderr, time.monotonic() - running.started_at)

    # ---- the store -------------------------------------------------------------------------------

    def doc(self, name: str) -> Any:
        """A document of the local store, parsed (None if absent)."""
        path = self.store / name
        return json.loads(path.read_bytes()) if path.exists() else None

    def log_entries(self) -> list[dict[str, Any]]:
        doc = self.doc(LOG)
        return [] if doc is None else list(doc["entries"])

    def age_log(self, seconds: float) -> None:
        """Make every entry of the publish log ``seconds`` older, as if that long had passed since the last run.

        Only the times pierrot keeps for itself move; a post's own ``created_at`` (the Bluesky record's) stays."""
        doc = self.doc(LOG)
        for entry in doc["entries"]:
            for name in ("started_at", "updated_at"):
                if entry.get(name):
                    moment = dt.datetime.fromisoformat(entry[name]) - dt.timedelta(seconds=seconds)
                    entry[name] = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        (self.store / LOG).write_text(json.dumps(doc, indent=1, ensure_ascii=False))

    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` pass before the next run: the publish log ages, and so does the Mastodon fake's past."""
        self.age_log(seconds)
        self.servers.mastodon.age(seconds)

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Every file in the store folder, with its bytes and modification time."""
        if not self.store.exists():
            return {}
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(self.store.iterdir())}


@pytest.fixture(scope="session")
def servers() -> Iterator[FakeServers]:
    running = start_servers()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fakes(servers: FakeServers) -> Iterator[FakeServers]:
    """The fakes, reset for this test."""
    servers.reset()
    yield servers
    servers.reset()


@pytest.fixture
def flickr(fakes: FakeServers) -> FlickrFake:
    return fakes.flickr


@pytest.fixture
def images(fakes: FakeServers) -> ImageHost:
    return fakes.images


@pytest.fixture
def x(fakes: FakeServers) -> XFake:
    return fakes.x


@pytest.fixture
def s3(fakes: FakeServers) -> S3Fake:
    return fakes.s3


@pytest.fixture
def bluesky(fakes: FakeServers) -> BlueskyFake:
    return fakes.bluesky


@pytest.fixture
def mastodon(fakes: FakeServers) -> MastodonFake:
    return fakes.mastodon


@pytest.fixture
def pierrot(fakes: FakeServers, tmp_path: Path) -> Iterator[Pierrot]:
    """The installed pierrot with a clean environment: HOME and XDG folders in tmp, settings for the fakes."""
    home = tmp_path / "home"
    env = clean_environment(home)
    empty = home / "aws-empty"
    empty.write_text("")
    env |= {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "PIERROT_STORE": str(home / "store"),
        "PIERROT_HTTP_TIMEOUT": "10",
        **fakes.environment(),
    }
    runner = Pierrot(pierrot_executable(), env, home, fakes)
    yield runner
    for running in runner.started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.communicate()


@pytest.fixture
def run_pierrot(pierrot: Pierrot) -> Callable[..., Result]:
    """``run_pierrot(*args, env=..., timeout=...)``: run the installed executable to the end."""
    return pierrot.run


@dataclass
class Bucket:
    """A fresh bucket on the moto server, and the store URL that names it."""

    name: str
    client: Any

    @property
    def url(self) -> str:
        return f"s3://{self.name}/pierrot"

    def key(self, name: str) -> str:
        return f"pierrot/{name}"

    def doc(self, name: str) -> Any:
        raw = self.raw(name)
        return None if raw is None else json.loads(raw)

    def raw(self, name: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.name, Key=self.key(name))["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None

    def put_raw(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=self.key(name), Body=data)

    def log_entries(self) -> list[dict[str, Any]]:
        doc = self.doc(LOG)
        return [] if doc is None else list(doc["entries"])


@pytest.fixture
def bucket(fakes: FakeServers, pierrot: Pierrot) -> Bucket:
    """A new, empty bucket; the pierrot fixture's store points at it."""
    name = f"pierrot-e2e-{uuid.uuid4().hex[:12]}"
    client = fakes.s3_client()
    client.create_bucket(Bucket=name)
    made = Bucket(name, client)
    pierrot.env["PIERROT_STORE"] = made.url
    return made


def latest_status(entries: list[dict[str, Any]], network: str = "x") -> dict[str, str]:
    """The status of each photo in the publish log, by its latest entry."""
    latest: dict[str, str] = {}
    for entry in entries:
        if entry["network"] == network:
            latest[entry["photo_id"]] = entry["status"]
    return latest


def assert_never_posted_twice(x: XFake, entries: list[dict[str, Any]]) -> None:
    """The invariant: no photo was ever sent to X twice, and every accepted post is in the log."""
    tried = [pid for post in x.attempts for pid in post.photo_ids]
    assert None not in tried, "a post carried media the image host did not serve"
    assert len(tried) == len(set(tried)), f"a photo was posted twice: {tried}"
    status = latest_status(entries)
    for post in x.posts:
        for pid in post.photo_ids:
            assert status.get(str(pid)) in {"published", "unknown"}, (
                f"X accepted a post of photo {pid} but the log says {status.get(str(pid))!r}"
            )


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
