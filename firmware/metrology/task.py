# The metrology task: reads ADC blocks and processes them as they become due.
#
# A real ADC sampler delivers a block when its DMA has filled one; a simulated one answers at
# once, so the task paces itself by the clock: t ms after `start`, t * rate / 1000 frames are
# due. `start` moves on a second at a time, so tick differences stay small (ticks wrap).
# Falling more than a second behind (a slow emulated board) drops the backlog rather than
# processing stale blocks, and counts it in metrology.dropped_blocks.
#
# A gapped sampler (hal.stm32.TimedADCBlock, hal.esp32.PacedADCBlock) is the opposite: it
# paces itself and blocks while it samples, and the metrology integrates over the clock.
# The task then takes one block after another and yields after each, so the other tasks
# wait at most one block; a sampler that follows the mains (set_mains_hz) is told the
# measured frequency at each period.


async def run(metrology, adc, clock, seconds=None, poll_ms=20):
    from hal.aio import sleep_ms

    if hasattr(metrology, "poll"):  # a metering IC (metrology/ic_front.py): once a second
        await _run_ic(metrology, clock, seconds, sleep_ms)
        return
    cfg = metrology.config
    per_second = cfg.rate_hz // cfg.block_frames
    if getattr(adc, "gapped", False):
        await _run_gapped(metrology, adc, seconds * per_second if seconds is not None else -1,
                          sleep_ms)
        return
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
        await sleep_ms(poll_ms)


async def _run_gapped(metrology, adc, blocks, pause):
    metrology.dropped_blocks = 0
    follow = getattr(adc, "set_mains_hz", None)
    periods = metrology.periods
    total = 0
    while blocks < 0 or total < blocks:
        metrology.run_block(adc)
        total += 1
        if follow is not None and metrology.periods != periods:
            periods = metrology.periods
            follow(metrology.results[0].freq_hz)
        await pause(0)


async def _run_ic(metrology, clock, seconds, sleep_ms):
    # The IC integrates on its own; its registers are read once a second on the clock's
    # second boundaries (start moves on whole seconds, so a late read does not shift the
    # next one; a backlog of more than a second is read once: the IC's counters hold it).
    start = clock.ticks_ms()
    done = 0
    while seconds is None or done < seconds:
        if clock.ticks_diff(clock.ticks_ms(), start) >= 1000:
            metrology.poll()
            done += 1
            start = clock.ticks_add(start, 1000)
            if clock.ticks_diff(clock.ticks_ms(), start) >= 1000:
                metrology.dropped_blocks += 1
                start = clock.ticks_ms()
        await sleep_ms(50)
