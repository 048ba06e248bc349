"""bench/pipelines.py's streaming scenario (issue 16). Not written yet."""

import argparse


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --streaming-)."""


def run(args: argparse.Namespace) -> dict:
    raise SystemExit("the streaming scenario is not written yet")
