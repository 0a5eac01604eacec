"""An app's shutdown ends its background work even when a library swallows a cancellation."""

import asyncio

from shared.app import cancel_and_wait


async def test_a_job_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    swallowed = asyncio.Event()

    async def job_whose_cleanup_absorbs_a_cancellation() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # as a session's cleanup can: the job carries on looping
        while True:
            await asyncio.sleep(0.05)

    async def well_behaved_job() -> None:
        await asyncio.sleep(3600)

    tasks = [
        asyncio.create_task(job_whose_cleanup_absorbs_a_cancellation()),
        asyncio.create_task(well_behaved_job()),
    ]
    await asyncio.sleep(0)

    await asyncio.wait_for(cancel_and_wait(tasks), timeout=10)

    assert swallowed.is_set()
    assert all(task.cancelled() for task in tasks)
