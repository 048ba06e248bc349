"""bench/pipelines.py's hooks scenario (issue 16). Not written yet."""

import argparse


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --hooks-)."""


def run(args: argparse.Namespace) -> dict:
    raise SystemExit("the hooks scenario is not written yet")
