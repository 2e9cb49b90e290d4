"""Every example the browser harness drives, found at collection time."""

from __future__ import annotations

from pathlib import Path

from ..servers import ROOT
from .base import ExampleAdapter, Unavailable
from .contract import ContractExample
from .demo_chat import DemoChat
from .fastapi_chat import FastAPIChat

__all__ = ["ExampleAdapter", "Unavailable", "discover"]

#: examples with a page of their own design (older than the page contract)
SPECIAL: dict[str, type[ExampleAdapter]] = {"chat": DemoChat, "fastapi_chat": FastAPIChat}
#: the harness's own minimal contract app: proves the generic adapter on its own
CONTRACT_FIXTURE = Path(__file__).resolve().parents[1] / "contract_app"


def discover(examples_dir: Path = ROOT / "example_projects") -> list[ExampleAdapter]:
    """The special examples, then every ``example_projects/*/run.py`` (the page contract),
    then the contract fixture app. Examples added later are picked up without edits here."""
    found: list[ExampleAdapter] = [
        adapter() for name, adapter in SPECIAL.items() if (examples_dir / name).is_dir()]
    found += [ContractExample(run.parent) for run in sorted(examples_dir.glob("*/run.py"))
              if run.parent.name not in SPECIAL]
    if (CONTRACT_FIXTURE / "run.py").is_file():
        fixture = ContractExample(CONTRACT_FIXTURE)
        fixture.relogin_expected = True  # its signing key is new at every start
        found.append(fixture)
    return found
