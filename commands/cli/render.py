"""Shared output helpers: stdout carries results, stderr carries messages."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def echo_json(obj: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(obj, sort_keys=True, ensure_ascii=False))


def write_raw_line(line: bytes) -> None:
    """Write stored bytes to stdout exactly as they are, plus a newline."""
    sys.stdout.buffer.write(line + b"\n")


def note(message: str) -> None:
    """A human message on stderr."""
    click.echo(message, err=True)


class InputError(click.ClickException):
    """Bad user input to a command: exit 2 with one line."""

    exit_code = 2
