"""Every service's entrypoints are the ones that outlive a broker outage, not nameko's own.

nameko's Rpc and EventHandler kill the whole service when a reply or an ack meets a vanished
broker; espace_common.nameko_support's `rpc` and `event_handler` log and carry on.
"""
import importlib

import pytest
from nameko.events import EventHandler as NamekoEventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc
from nameko.timer import Timer

from espace_common.launch import service_class_path
from espace_common.nameko_support import DeadlineRpc, EventHandler

SERVICES = ("identity", "canteen", "childcare", "billing", "payment")
TOLERANT = (DeadlineRpc, EventHandler, Timer)  # a timer neither replies nor acks


def entrypoints(package):
    module_name, class_name = service_class_path(package).split(":")
    service_class = getattr(importlib.import_module(module_name), class_name)
    for attribute in dir(service_class):
        for entrypoint in getattr(getattr(service_class, attribute), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            yield attribute, entrypoint


@pytest.mark.parametrize("package", SERVICES)
def test_every_entrypoint_comes_from_espace_common(package):
    found = list(entrypoints(package))
    assert any(isinstance(entrypoint, DeadlineRpc) for _, entrypoint in found)
    fragile = [f"{name}: {type(entrypoint).__module__}.{type(entrypoint).__name__}"
               for name, entrypoint in found if not isinstance(entrypoint, TOLERANT)]
    assert not fragile, f"use espace_common.nameko_support's rpc and event_handler: {fragile}"


def test_the_tolerant_entrypoints_are_nameko_ones_underneath():
    assert issubclass(DeadlineRpc, Rpc) and issubclass(EventHandler, NamekoEventHandler)
