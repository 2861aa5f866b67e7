# Block sampler (hal interface ADCBlock) over the ADS131M04 driver (hal/ads131m04.py): how
# the metrology takes its blocks from the chip, apart from how the chip is spoken to. The
# driver knows frames, registers and the chip's faults; this module knows blocks: the
# channel map, joining blocks across the gaps on the mains cycle, and what a run of bad
# frames or a chip that reset itself means for the block being read (issue 15).
from array import array

import micropython

from hal.ads131m04 import CHANNELS, MAX_BAD_FRAMES, ST_RESET


class ADS131M04Block:
    """ADC block sampler (hal interface ADCBlock) over an ADS131M04: each frame waits for
    DRDY and takes one simultaneous conversion; the block holds the chip channels named by
    channel_map, in block order V1, I1 (V2, I2, V3, I3), as signed 24-bit codes in an
    array('i') (MetrologyConfig(adc_bits=24, adc_signed=True)).

    Channel map. One phase needs V1, I1: the default (0, 1) puts the voltage divider on
    channel 0 and the phase current on channel 1. Channels 2 and 3 stay free: a 1-phase
    meter puts its neutral current on 2 (every frame's four codes stay in `frame`, so the
    firmware can compare neutral and phase currents, the usual check against a bypassed
    meter); a meter that does not use them disables them (ADS131M04(enabled=...)).

    The chip converts all the time, but the firmware reads nothing while it works on a
    block, so the sampler is gapped (MetrologyConfig(time_base="clock")). After a gap the
    chip's FIFO holds stale conversions: they are read and dropped (skipped_frames). With
    align_hz the new block starts a whole number of mains cycles after the last block's last
    frame on the chip's own sample grid (counted from the ticks between their DRDYs), so the
    kernel sees no phase jump at the join; that costs at most one cycle of frames.

    Faults: a frame that fails its CRC keeps the previous frame's codes (held_frames; see
    the driver's header for why); MAX_BAD_FRAMES in a row, or DRDY not coming, raise OSError.
    A chip that reset itself (STATUS.RESET: a supply dip) is configured again at once and
    counted in chip_resets; the frame that showed it is not used."""

    gapped = True
    bits = 24

    def __init__(self, adc, channel_map=(0, 1), align_hz=50):
        if len(channel_map) not in (2, 6) or any(not 0 <= c < CHANNELS for c in channel_map):
            raise ValueError("channel_map: 2 (or 6) chip channels 0..3")
        if not isinstance(adc.rate_hz, int):
            raise ValueError("the metrology needs a whole data rate (OSR 16256 gives none)")
        self.adc = adc
        self.channels = len(channel_map)
        self.rate_hz = adc.rate_hz
        self._map = tuple(channel_map)
        self.frame = array("i", [0] * CHANNELS)  # the last frame's four codes
        self._scratch = array("i", [0] * CHANNELS)
        self.align_hz = align_hz
        self._cycle_milli = 0
        self.set_mains_hz(align_hz)
        self._fresh = True
        self._last_us = 0
        self.blocks = 0
        self.held_frames = 0
        self.skipped_frames = 0
        self.late_frames = 0  # frames already waiting when asked for: the reads fell behind
        self.chip_resets = 0
        self.last_gap_frames = 0  # conversions between the last two blocks, beyond one

    def set_mains_hz(self, hz):
        """Align the gaps to the measured mains frequency (40..70 Hz; others ignored)."""
        if self.align_hz and 40.0 <= hz <= 70.0:
            self._cycle_milli = int(self.rate_hz * 1000 / hz + 0.5)  # samples per cycle x1000

    def read_block(self, samples):
        adc = self.adc
        if not adc.started:
            adc.begin()
            self._fresh = True
        ch = self.channels
        frames = len(samples) // ch
        if frames < 1:
            return 0
        self._join()
        self._fill(samples, frames)
        self._last_us = adc.drdy_us
        self.blocks += 1
        return frames

    def _drain(self):
        adc = self.adc
        scratch = self._scratch
        while adc.data_ready():
            adc.read_frame(scratch, 0)
            self.skipped_frames += 1

    @micropython.native
    def _join(self):
        """Drop the FIFO's stale conversions; then, after a gap, skip to the conversion a
        whole number of mains cycles after the last block's last one."""
        adc = self.adc
        self._drain()
        if self._fresh or not self._cycle_milli:
            self._fresh = False
            return
        scratch = self._scratch
        cycle = self._cycle_milli
        rate = self.rate_hz
        diff = adc._ticks_diff
        while True:
            if not adc.wait_ready():
                raise OSError("ADS131M04: no data ready")
            gap = diff(adc.drdy_us, self._last_us)
            # Conversions the gap skipped (those since the last frame taken, less one):
            # accepted when they make whole cycles, within half a sample.
            m = (gap * rate + 500000) // 1000000 - 1
            r = (m * 1000) % cycle
            if m >= 0 and (r < 500 or cycle - r < 500):
                self.last_gap_frames = m
                return
            adc.read_frame(scratch, 0)
            self.skipped_frames += 1

    @micropython.native
    def _fill(self, samples, frames):
        adc = self.adc
        codes = self.frame
        cmap = self._map
        ch = self.channels
        bad = 0
        n = 0
        k = 0
        while n < frames:
            ok = adc.read_frame(codes, 0)
            if n and not adc.waited:  # (the first one _join found waiting)
                self.late_frames += 1
            if not ok:
                bad += 1
                self.held_frames += 1
                if bad >= MAX_BAD_FRAMES:
                    adc.started = False
                    raise OSError("ADS131M04: no valid frame")
            else:
                bad = 0
                if adc.status & ST_RESET:  # the chip lost its configuration
                    self.chip_resets += 1
                    adc.begin()
                    self._drain()
                    continue
            for c in range(ch):
                samples[k] = codes[cmap[c]]
                k += 1
            n += 1
