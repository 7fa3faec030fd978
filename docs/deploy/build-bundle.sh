#!/usr/bin/env bash
# Build the code of both Lambda functions for the python3.12 runtime on x86_64: pierrot and every
# dependency, with bytecode compiled by a Python 3.12, in one folder (the template's CodeUri).
#
#   docs/deploy/build-bundle.sh [OUTPUT_DIR]        # default: build/lambda in the project root
#
# PYTHON     the Python whose pip downloads and installs (default: python3); 3.11 or later.
# PYTHON312  a Python 3.12 for the bytecode (default: python3.12 on PATH, else pyenv's 3.12).
#
# The bytecode is compiled for 3.12 rather than left out: Lambda cannot write __pycache__ in /var/task,
# so without it every cold start compiles boto3, botocore and the rest again (about 0.5 s more here, see
# docs/performance.md). Unchecked-hash .pyc files are never compared with the source's timestamps, which
# the zip that SAM uploads does not keep to the second.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build/lambda}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$root"
python="${PYTHON:-python3}"

is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }

python312="${PYTHON312:-}"
if [ -z "$python312" ]; then
    if is_312 python3.12; then
        python312=python3.12
    elif command -v pyenv >/dev/null && prefix="$(pyenv prefix 3.12 2>/dev/null)" \
            && is_312 "$prefix/bin/python3.12"; then
        python312="$prefix/bin/python3.12"
    fi
fi
if [ -z "$python312" ] || ! is_312 "$python312"; then
    echo "build-bundle: no Python 3.12 found to compile the bytecode for Lambda's python3.12 runtime;" \
         "install one, or set PYTHON312=/path/to/python3.12" >&2
    exit 1
fi

# Never delete a folder this script did not make.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/pierrot/entrypoints/aws_lambda.py" ]; then
    echo "build-bundle: $out exists and is not a pierrot bundle: not deleting it" >&2
    exit 1
fi
rm -rf "$out"
# setuptools builds in build/lib and leaves it there: a module deleted since the last build would ship.
rm -rf build/lib build/bdist.*

"$python" -m pip install --quiet --disable-pip-version-check --no-compile \
    --target "$out" --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 \
    --only-binary=:all: .
rm -rf build/lib build/bdist.*
# Console scripts written for this machine's Python: the functions never run them.
rm -rf "$out/bin"
# Source paths recorded as /var/task/..., where Lambda unpacks the code, not as this machine's folder.
"$python312" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$out" -p /var/task "$out" >/dev/null

size="$(du -sh "$out" | cut -f1)"
echo "build-bundle: $out ($size, bytecode for $("$python312" -c 'import sys; print(sys.implementation.cache_tag)'))"
