"""bench/pipelines.py's taxonomy scenario (issue 16). Not written yet."""

import argparse


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --taxonomy-)."""


def run(args: argparse.Namespace) -> dict:
    raise SystemExit("the taxonomy scenario is not written yet")
