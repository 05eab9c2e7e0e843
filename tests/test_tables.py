"""luisterpost.tables.in_slices: a timer walking a large table lets the agents run between
slices, and still visits every entry once, in order."""

import asyncio

from luisterpost.tables import in_slices


def test_in_slices_visits_every_item_once_and_lets_other_tasks_run_between_slices() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        seen: list[int] = []
        agent_ran_after: list[int] = []  # how many items the walk had seen when the agent ran

        async def agent() -> None:
            while True:
                agent_ran_after.append(len(seen))
                await asyncio.sleep(0)

        task = asyncio.create_task(agent())
        await asyncio.sleep(0)  # the agent starts: it runs once before the walk
        async for item in in_slices(list(range(25)), size=10):
            seen.append(item)
        task.cancel()
        return seen, agent_ran_after

    seen, agent_ran_after = asyncio.run(scenario())
    assert seen == list(range(25))
    assert agent_ran_after[:3] == [0, 10, 20]  # once per slice boundary, never mid-slice


def test_in_slices_of_nothing_yields_nothing() -> None:
    async def walk() -> list[int]:
        return [item async for item in in_slices([], size=10)]

    assert asyncio.run(walk()) == []
