"""Where a renewed secret (a token a network refreshes) is kept: never in the store's documents.

On the command line: one file per secret in pierrot's config folder, readable by the user alone, written by a
temporary file and a rename. On Lambda: the one SSM parameter the secret is read from (``<variable>_SSM``).
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pierrot.errors import ConfigError, PierrotError
from pierrot.files import replace_file

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class FileSecretKeeper:
    """Renewed secrets in ``<config folder>/<name>``, 0600, each remembering which configured value it replaces.

    A kept secret is used instead of the configured one only while the configuration still says the value it
    replaced: a person who puts a new token in the settings means that one."""

    def __init__(self, folder: Path, configured: Mapping[str, str]) -> None:
        self.folder = folder
        self.configured = dict(configured)

    @classmethod
    def in_config_folder(cls, env: Mapping[str, str], configured: Mapping[str, str]) -> FileSecretKeeper:
        """The keeper in ``$XDG_CONFIG_HOME/pierrot`` (``~/.config/pierrot``), next to config.toml."""
        base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return cls(Path(base) / "pierrot", configured)

    def path(self, attr: str) -> Path:
        return self.folder / attr.replace("_", "-")

    def keep(self, attr: str, value: str) -> None:
        """Write the renewed secret atomically, readable by the user alone."""
        doc = {"value": value, "replaces": _fingerprint(self.configured.get(attr, ""))}
        previous = self._read(attr)
        if previous is not None and previous.get("replaces"):
            doc["replaces"] = previous["replaces"]  # a renewal of a renewal still replaces the configured value
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.path(attr)
        replace_file(path, json.dumps(doc).encode(), sync_folder=True)

    def __call__(self, attr: str, value: str) -> None:
        self.keep(attr, value)

    def current(self, attr: str) -> str | None:
        """The kept secret when it renews the configured one; None to use the configured value."""
        doc = self._read(attr)
        if doc is None or not isinstance(doc.get("value"), str) or not doc["value"]:
            return None
        configured = self.configured.get(attr, "")
        if doc.get("replaces") != _fingerprint(configured) and doc["value"] != configured:
            return None
        return str(doc["value"])

    def _read(self, attr: str) -> dict[str, Any] | None:
        path = self.path(attr)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} holds a secret and others can read it: `chmod 600 {path}`")
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not a secret pierrot kept ({exc}); delete it") from None
        return doc if isinstance(doc, dict) else None


class SsmSecretKeeper:
    """Renewed secrets written back to the SSM parameter each is read from (ssm:PutParameter on that one only)."""

    def __init__(self, parameters: Mapping[str, str], client: SSMClient | None = None) -> None:
        self.parameters = dict(parameters)  # setting attr -> parameter name
        self._client = client

    @classmethod
    def from_env(cls, env: Mapping[str, str], secrets: Mapping[str, str]) -> SsmSecretKeeper:
        """The parameters named by ``<variable>_SSM`` for the secret settings ``secrets`` (attr -> variable)."""
        named = {attr: env.get(f"{variable}_SSM", "").strip() for attr, variable in secrets.items()}
        return cls({attr: name for attr, name in named.items() if name})

    def keep(self, attr: str, value: str) -> None:
        name = self.parameters.get(attr)
        if not name:
            raise ConfigError(f"no SSM parameter is named for the setting {attr}: cannot keep its renewed value")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise PierrotError(f"cannot write the SSM parameter {name} ({code}): the function's role needs "
                               f"ssm:PutParameter on it, and kms:Encrypt on its key if it is not aws/ssm") from None
        except BotoCoreError as exc:
            raise PierrotError(f"cannot write the SSM parameter {name}: {type(exc).__name__}") from None

    def __call__(self, attr: str, value: str) -> None:
        self.keep(attr, value)

    def client(self) -> SSMClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("ssm")
        return self._client
