"""Where the Linux backend's destroy runs: the container's directory moved
into the depot's ``.trash`` (no script runs here)."""

from __future__ import annotations

import os

from warden.server.container._context import ContainerContext, ContainerIds
from warden.server.linux import LinuxContainer


def at(context: ContainerContext, name: str) -> LinuxContainer:
    container = LinuxContainer(context)
    container.container_path = os.path.join(context.depot_path, name)
    return container


def test_the_directory_moves_into_the_trash(context: ContainerContext) -> None:
    container = at(context, "one")
    os.makedirs(os.path.join(container.container_path, "etc"))
    moved = container._move_to_trash()
    assert moved == os.path.join(context.trash_path, "one")
    assert os.path.isdir(os.path.join(moved, "etc"))
    assert not os.path.exists(container.container_path)
    # A destroy that failed before its answer is tried again where it went.
    assert container._move_to_trash() == moved


def test_a_directory_already_in_the_trash_or_gone_stays_where_it_is(
    context: ContainerContext,
) -> None:
    leftover = LinuxContainer(context)
    leftover.container_path = os.path.join(context.trash_path, "two")
    os.makedirs(leftover.container_path)
    assert leftover._move_to_trash() == leftover.container_path
    gone = at(context, "three")
    assert gone._move_to_trash() == gone.container_path


def test_a_name_taken_in_the_trash_destroys_in_place(context: ContainerContext) -> None:
    container = at(context, "four")
    os.makedirs(os.path.join(container.container_path, "etc"))
    os.makedirs(os.path.join(context.trash_path, "four", "busy"))
    assert container._move_to_trash() == container.container_path
    assert os.path.isdir(os.path.join(container.container_path, "etc"))


def test_new_ids_are_not_those_in_the_trash(context: ContainerContext) -> None:
    first = context.new_container_id()
    os.makedirs(os.path.join(context.trash_path, first))
    context.container_ids = ContainerIds(start=1)  # the same ids again
    assert context.new_container_id() != first
