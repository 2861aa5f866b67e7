# The metrology task: reads ADC blocks and processes them as they become due.
#
# A real ADC sampler delivers a block when its DMA has filled one; a simulated one answers at
# once, so the task paces itself by the clock: t ms after `start`, t * rate / 1000 frames are
# due. `start` moves on a second at a time, so tick differences stay small (ticks wrap).
# Falling more than a second behind (a slow emulated board) drops the backlog rather than
# processing stale blocks, and counts it in metrology.dropped_blocks.


async def run(metrology, adc, clock, seconds=None, poll_ms=20):
    import asyncio

    sleep_ms = getattr(asyncio, "sleep_ms", None)
    cfg = metrology.config
    per_second = cfg.rate_hz // cfg.block_frames
    start = clock.ticks_ms()
    done = 0  # blocks processed since start
    total = 0
    metrology.dropped_blocks = 0
    while seconds is None or total < seconds * per_second:
        elapsed = clock.ticks_diff(clock.ticks_ms(), start)
        due = elapsed * per_second // 1000
        if due - done > per_second:
            metrology.dropped_blocks += due - done - per_second
            done = due - per_second
        while done < due and (seconds is None or total < seconds * per_second):
            metrology.run_block(adc)
            done += 1
            total += 1
        if done >= per_second:
            done -= per_second
            start = clock.ticks_add(start, 1000)
        if sleep_ms:
            await sleep_ms(poll_ms)
        else:
            await asyncio.sleep(poll_ms / 1000)
