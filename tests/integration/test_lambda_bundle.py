"""The Lambda bundle, as docs/deploy/build-bundle.sh builds it, run by Python 3.12 with nothing else on its path.

Lambda's python3.12 runtime has no setuptools (so no ``pkg_resources``) and none of the developer's packages:
a bundle that imports fine in the project's venv can still crash there. So a Python 3.12 child process, isolated
(``-I -S``: no site-packages, no PYTHON* variables) and with only the bundle added to ``sys.path``, imports
``pierrot.entrypoints.aws_lambda`` and calls both handlers as Lambda would: secrets from SSM and documents in S3 (moto),
Flickr, the image host and X from the e2e fakes. Every path of sync and publish runs, the post's weighted
length included.

CI builds the bundle first and names it in ``PIERROT_LAMBDA_BUNDLE``::

    docs/deploy/build-bundle.sh build/lambda && export PIERROT_LAMBDA_BUNDLE="$PWD/build/lambda"

Without it the test is skipped locally and fails under CI. ``PYTHON312`` may name the 3.12 interpreter.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.e2e.servers import FakeServers, clean_environment, start_servers

BUNDLE_VARIABLE = "PIERROT_LAMBDA_BUNDLE"
BUILD_COMMAND = 'docs/deploy/build-bundle.sh build/lambda && export PIERROT_LAMBDA_BUNDLE="$PWD/build/lambda"'
BUCKET = "pierrot-lambda-bundle"
PREFIX = "pierrot"
SECRET_PARAMETERS = {
    "PIERROT_FLICKR_API_KEY": "/pierrot/flickr/api_key",
    "PIERROT_FLICKR_API_SECRET": "/pierrot/flickr/api_secret",
    "PIERROT_X_API_KEY": "/pierrot/x/api_key",
    "PIERROT_X_API_SECRET": "/pierrot/x/api_secret",
    "PIERROT_X_ACCESS_TOKEN": "/pierrot/x/access_token",
    "PIERROT_X_ACCESS_TOKEN_SECRET": "/pierrot/x/access_token_secret",
}
# Weighs 9 by X's rules (CJK and emoji count 2) but is 5 characters long: proves the weighting code ran.
TITLE = "夜の港 🌙"
TITLE_WEIGHT = 9
SCHEDULED = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-30T09:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/pierrot-publish"],
    "detail": {},
}
MARKER = "pierrot-lambda-bundle-result:"

# Runs in the 3.12 child: the handlers, one after the other, in one process (one cold start, then warm calls).
CHILD = f"""
import json, sys, sysconfig, time
bundle, calls = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, bundle)
started = time.perf_counter()
import pierrot.entrypoints.aws_lambda as handlers
imported = time.perf_counter()
answers = []
for name, event in calls:
    began = time.perf_counter()
    try:
        answer = getattr(handlers, name)(event, None)
    except Exception as exc:
        answer = {{"raised": type(exc).__name__, "message": str(exc)}}
    answers.append({{"handler": name, "answer": answer, "seconds": time.perf_counter() - began}})
files = {{name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}}
print({MARKER!r} + json.dumps({{
    "version": list(sys.version_info[:2]),
    "path": sys.path,
    "stdlib": [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]],
    "import_seconds": imported - started,
    "answers": answers,
    "modules": files,
}}))
"""


def _missing(what: str) -> NoReturn:
    """Fail under CI, where the bundle test is the only proof the deployed code starts; skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the Lambda bundle test)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def bundle() -> Path:
    value = os.environ.get(BUNDLE_VARIABLE, "").strip()
    if not value:
        _missing(f"{BUNDLE_VARIABLE} is not set: build the bundle with `{BUILD_COMMAND}`")
    path = Path(value).resolve()
    if not (path / "pierrot" / "entrypoints" / "aws_lambda.py").is_file():
        pytest.fail(f"{BUNDLE_VARIABLE}={value} is not a bundle built by docs/deploy/build-bundle.sh")
    return path


def _resolve_312(python: str) -> str | None:
    """The interpreter's own path if it is a 3.12 (a pyenv shim would not run in the child's clean environment)."""
    try:
        found = subprocess.run(
            [python, "-I", "-S", "-c", "import sys; print(sys.executable if sys.version_info[:2] == (3, 12) else '')"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return found.stdout.strip() or None


@pytest.fixture(scope="module")
def python312() -> str:
    """Lambda's runtime version: $PYTHON312, python3.12 on PATH, or pyenv's newest 3.12."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [
        os.environ.get("PYTHON312", ""),
        shutil.which("python3.12") or "",
        *sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.12.*", "bin", "python3.12")), reverse=True),
    ]
    for candidate in candidates:
        found = _resolve_312(candidate) if candidate else None
        if found:
            return found
    _missing("no Python 3.12 found: set PYTHON312 to one")


@pytest.fixture(scope="module")
def servers() -> Iterator[FakeServers]:
    running = start_servers()
    try:
        yield running
    finally:
        running.stop()


def lambda_environment(servers: FakeServers, home: Path) -> dict[str, str]:
    """The functions' environment as the template sets it, pointed at the fakes; secrets only in SSM."""
    import boto3

    servers.s3_client().create_bucket(Bucket=BUCKET)

    s = servers.secrets
    ssm = boto3.session.Session(
        aws_access_key_id=s.aws_access_key_id, aws_secret_access_key=s.aws_secret_access_key, region_name="us-east-1"
    ).client("ssm", endpoint_url=servers.s3_url)
    fakes = servers.environment()
    for name, parameter in SECRET_PARAMETERS.items():
        ssm.put_parameter(Name=parameter, Value=fakes.pop(name), Type="SecureString", Overwrite=True)
    cron = clean_environment(home)
    empty = home / "aws-empty"
    empty.write_text("")
    return {
        **cron,
        **fakes,
        **{f"{name}_SSM": parameter for name, parameter in SECRET_PARAMETERS.items()},
        "PIERROT_STORE": f"s3://{BUCKET}/{PREFIX}",
        "PIERROT_HTTP_TIMEOUT": "10",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_LAMBDA_FUNCTION_NAME": "pierrot-bundle-test",
    }


def run_in_bundle(python: str, bundle: Path, env: dict[str, str], calls: list[tuple[str, Any]]) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-I", "-S", "-B", "-c", CHILD, str(bundle), json.dumps(calls)],
        env=env,
        cwd=env["HOME"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    assert done.returncode == 0 and lines, f"the bundle did not run (exit {done.returncode}):\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    result["stderr"] = done.stderr
    return result


def test_both_handlers_run_from_the_bundle_alone_on_python_312(
    bundle: Path, python312: str, servers: FakeServers, tmp_path: Path
) -> None:
    [photo, *_] = servers.flickr.populate(3)
    photo.title = TITLE
    env = lambda_environment(servers, tmp_path / "home")
    calls: list[tuple[str, Any]] = [
        ("sync_handler", {**SCHEDULED, "resources": ["arn:aws:events:us-east-1:123456789012:rule/pierrot-sync"]}),
        ("publish_handler", {"dry_run": True, "photo": photo.id}),
        ("publish_handler", SCHEDULED),
        ("publish_handler", SCHEDULED),  # EventBridge delivered it twice
    ]

    result = run_in_bundle(python312, bundle, env, calls)

    assert result["version"] == [3, 12]
    sync, dry_run, published, again = (a["answer"] for a in result["answers"])
    assert sync.get("ok") is True, sync
    assert sync["photos"] == 3
    assert dry_run.get("ok") is True, dry_run
    assert dry_run["dry_run"] is True and dry_run["published"] is False
    assert dry_run["text"] == TITLE
    assert dry_run["text_weight"] == TITLE_WEIGHT
    assert published.get("ok") is True, published
    assert published["published"] is True
    assert again.get("ok") is True, again
    assert again["published"] is False
    [post] = servers.x.posts
    assert published["post_id"] == post.id

    # Nothing came from outside the bundle and the interpreter's own library; the old dependency is gone.
    allowed = [str(bundle), *result["stdlib"]]
    outside = {
        name: file
        for name, file in result["modules"].items()
        if file and not any(os.path.abspath(file).startswith(root + os.sep) for root in allowed)
    }
    assert outside == {}
    assert "pkg_resources" not in result["modules"]
    assert "twitter_text" not in result["modules"]
    assert not any(p.endswith("site-packages") for p in result["path"])
    for secret in servers.secrets.values():
        assert secret not in result["stderr"]
    assert "Traceback" not in result["stderr"]
    # The figures docs/performance.md quotes (shown by `pytest -s`); not asserted on a shared machine.
    print(
        f"\nbundle on Python 3.12: import pierrot.entrypoints.aws_lambda {result['import_seconds']:.3f} s; "
        + ", ".join(f"{a['handler']} {a['seconds']:.3f} s" for a in result["answers"])
    )


def test_the_bundle_holds_bytecode_for_python_312_only(bundle: Path) -> None:
    """Compiled for Lambda's 3.12, never for the build machine's Python (whose .pyc Lambda would ignore)."""
    tags = {path.name.split(".")[-2] for path in bundle.rglob("*.pyc")}
    assert tags == {"cpython-312"}
    assert (bundle / "pierrot" / "entrypoints" / "__pycache__" / "aws_lambda.cpython-312.pyc").is_file()
    assert not (bundle / "bin").exists()
