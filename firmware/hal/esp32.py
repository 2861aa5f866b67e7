# Backends for ESP32-family boards (classic ESP32, ESP32-C6) on MicroPython's esp32 port.
# `machine` is imported where a port object is made, so the pure parts (the ADC sampler's
# pacing) import on any runtime and are tested on CPython and the unix port.
import micropython
from micropython import const

from hal.clock import SystemClock


def p1_uart(uart_id, tx_pin, baudrate=115200):
    """The H1 port's UART: 115200 8N1 with TX inverted in the UART peripheral, so an
    open-collector opto stage (DSMR 5.0.2 P1 CS 4.2) sees idle = low (ESP32 `invert` flag)."""
    import machine

    return machine.UART(uart_id, baudrate=baudrate, bits=8, parity=None, stop=1,
                        tx=tx_pin, rx=None, invert=machine.UART.INV_TX)


def input_pin(number, pull_down=True):
    import machine

    return machine.Pin(number, machine.Pin.IN, machine.Pin.PULL_DOWN if pull_down else None)


class PinLeds:
    """Status LEDs on plain GPIOs (active high unless listed in active_low)."""

    def __init__(self, numbers, active_low=()):
        import machine

        self._pins = [machine.Pin(n, machine.Pin.OUT) for n in numbers]
        self._active_low = active_low
        self.count = len(self._pins)

    def set(self, index, on):
        self._pins[index].value((not on) if index in self._active_low else bool(on))


class RgbLed:
    """One addressable RGB LED (WS2812 on the ESP32-C6-DevKitC-1, GPIO8) as status LEDs:
    index 0 lights green, index 1 red, both amber."""

    count = 2

    def __init__(self, pin_number, level=32):
        import machine
        import neopixel

        self._np = neopixel.NeoPixel(machine.Pin(pin_number, machine.Pin.OUT), 1)
        self._on = [False, False]
        self._level = level

    def set(self, index, on):
        self._on[index] = bool(on)
        red = self._level if self._on[1] else 0
        green = self._level if self._on[0] else 0
        self._np[0] = (red, green, 0)
        self._np.write()


def flash(path="/meter"):
    """The registers' directory on the filesystem the port mounts at / from its "vfs" data
    partition (littlefs since MicroPython 1.20 on ESP32): hal.fsdir explains why the
    firmware never mounts that partition a second time."""
    from hal.fsdir import DirFs

    return DirFs(path)


def clock():
    return SystemClock()


# -- ADC block sampler ---------------------------------------------------------------------
# MicroPython 1.25's esp32 port reaches the ADC only through machine.ADC's one-shot reads
# (read(), read_u16(), read_uv()), each one call of ESP-IDF's legacy adc1_get_raw()
# (ports/esp32/adc.c). It has no DMA or continuous mode, no I2S-ADC mode and no timed
# multi-channel read, and its machine.Timer callbacks are scheduled, not run in the interrupt
# (ports/esp32/machine_timer.c). The fastest sustained route is therefore a paced polling
# loop: all channels in turn once per sample period, timed by ticks_us. Figures, sources and
# the rejected routes: docs/esp32-sampler.md.

_US = const(1000000)


class PacedADCBlock:
    """ADC block sampler (hal interface ADCBlock) that polls one-shot ADC reads on a
    schedule: frame n of a block is due n / rate_hz seconds after its first frame, and its
    channels are read one after the other in block order (V1, I1, V2, I2, ...) straight into
    the caller's block. adcs: objects whose read() returns a code 0 .. 2**bits - 1
    (machine.ADC on a board); clock: the board's clock (ticks_us/ticks_diff/ticks_add).

    The loop holds the CPU while it samples and nothing is sampled while the firmware works
    on a block, so the sampler is gapped: the metrology integrates energy over the clock
    (MetrologyConfig(time_base="clock")). With align_hz (the nominal mains frequency) a new
    block starts on the previous block's sample grid, a whole number of mains cycles after
    its last frame: the kernel then sees a waveform without a phase jump at the join, which
    keeps its zero crossings (frequency) and its quarter-period delay line (Q) right. The
    wait this costs is under one mains cycle.

    A frame that comes a whole sample period or more behind its slot (reads slower than the
    rate, a long interrupt) is taken at once and the schedule counts on from it; such frames
    are counted in late_frames. What the sampler achieved is measured on every block, in
    integers (no allocation): last_frames, last_span_us (first to last frame), last_gap_us
    (time between the previous block's last frame and this block's first, beyond one sample
    period), last_frame_us (how long the last frame's reads took: channels times the cost of
    one read, which is also the skew between a voltage and its current). achieved_rate_hz()
    turns them into a rate."""

    gapped = True

    def __init__(self, adcs, rate_hz, clock, frames=200, bits=12, align_hz=50):
        if not 1 <= rate_hz <= _US:
            raise ValueError("rate_hz out of range")
        if frames < 1:
            raise ValueError("frames must be at least 1")
        self.adcs = tuple(adcs)
        self.channels = len(self.adcs)
        if not self.channels:
            raise ValueError("no ADC channels")
        self.rate_hz = rate_hz
        self.bits = bits
        self.frames = frames
        self.align_hz = align_hz
        self._reads = tuple(a.read for a in self.adcs)  # bound once: no allocation per read
        self._ticks_us = clock.ticks_us
        self._ticks_diff = clock.ticks_diff
        self._ticks_add = clock.ticks_add
        self._period_us = _US // rate_hz
        self._cycle_us = (_US + align_hz // 2) // align_hz if align_hz else 0
        self._next_us = 0  # tick at which the slot after the last block's last frame falls
        self._fresh = True
        self._last_frame_tick = 0
        self.blocks = 0
        self.last_frames = 0
        self.last_span_us = 0
        self.last_gap_us = 0
        self.last_frame_us = 0
        self.late_frames = 0

    def read_block(self, samples):
        frames = len(samples) // self.channels
        if frames > self.frames:
            frames = self.frames
        if frames < 1:
            return 0
        self._sample(samples, frames, self._block_start())
        return frames

    def set_mains_hz(self, hz):
        """Align the gaps to the measured mains frequency instead of the nominal one (call it
        with each period's measured frequency): a gap of m cycles then leaves no phase jump
        even off nominal frequency. Values outside 40..70 Hz (no signal) are ignored."""
        if self.align_hz and 40.0 <= hz <= 70.0:
            self._cycle_us = int(_US / hz + 0.5)

    def achieved_rate_hz(self):
        """Frames per second over the last block (first to last frame); 0.0 before one."""
        if self.last_frames < 2 or self.last_span_us <= 0:
            return 0.0
        return (self.last_frames - 1) * 1e6 / self.last_span_us

    def _block_start(self):
        """The tick at which the block's first frame is due."""
        now = self._ticks_us()
        self._fresh = False
        if self.blocks:
            late = self._ticks_diff(now, self._next_us)
            if 0 >= late >= -self._period_us:
                return self._next_us  # its slot is still ahead: no gap at all
            if late > 0 and self._cycle_us:
                cycles = (late + self._cycle_us - 1) // self._cycle_us
                return self._ticks_add(self._next_us, cycles * self._cycle_us)
            # Otherwise (no alignment, or a slot further ahead than one period, which only
            # ticks wrapped in a long pause give) the block starts a fresh grid.
        self._fresh = True
        return now

    @micropython.native
    def _sample(self, samples, frames, t0):
        reads = self._reads
        ch = self.channels
        ticks_us = self._ticks_us
        diff = self._ticks_diff
        rate = self.rate_hz
        period = self._period_us
        fresh = self._fresh
        base_n = 0  # the frame the schedule counts from (moves on after a missed slot)
        base_us = 0  # when that frame was taken, us after t0
        first = 0
        t = 0
        late = 0
        k = 0
        for n in range(frames):
            due = base_us + (n - base_n) * _US // rate
            t = diff(ticks_us(), t0)
            while t < due:
                t = diff(ticks_us(), t0)
            if t - due >= period:
                late += 1
                base_n = n
                base_us = t
            if n == 0:
                first = t
                if fresh:
                    base_us = t  # a fresh grid starts at the first frame taken
            for c in range(ch):
                samples[k] = reads[c]()
                k += 1
        end = diff(ticks_us(), t0)
        add = self._ticks_add
        if self.blocks:
            self.last_gap_us = diff(add(t0, first), self._last_frame_tick) - period
        self._last_frame_tick = add(t0, t)
        self._next_us = add(t0, base_us + (frames - base_n) * _US // rate)
        self.last_frames = frames
        self.last_span_us = t - first
        self.last_frame_us = end - t
        self.late_frames += late
        self.blocks += 1


def paced_adc(pins, rate_hz, clock, frames=200, align_hz=50, atten=None):
    """A PacedADCBlock over the board's ADC1 pins (GPIO numbers in block order V1, I1, ...).
    ADC1 because ADC2 is taken by Wi-Fi (esp32 quickref); raw 12-bit reads (the block's
    default width on ESP32 and ESP32-C6); 11 dB attenuation unless told, whose linear range
    is about 150 mV to 2450 mV (esp32 quickref): the front end biases its signals inside it."""
    import machine

    if atten is None:
        atten = machine.ADC.ATTN_11DB
    adcs = [machine.ADC(machine.Pin(p), atten=atten) for p in pins]
    return PacedADCBlock(adcs, rate_hz, clock, frames=frames, align_hz=align_hz)


def report_rate(sampler, blocks=10, out=print, pause_ms=0):
    """Run `blocks` blocks on a sampler and print what it achieved per block (rate, gap,
    cost of one read, late frames). pause_ms between blocks stands in for the firmware's
    processing. Returns the lowest rate seen. On a board (docs/esp32-sampler.md):
    report_rate(paced_adc(board.ADC_PINS, board.ADC_RATE_HZ, clock()))."""
    import time
    from array import array

    block = array("h", bytes(2 * sampler.channels * sampler.frames))
    lowest = None
    out("target %d Hz, %d channels, %d frames per block" % (sampler.rate_hz, sampler.channels,
                                                           sampler.frames))
    for b in range(blocks):
        late = sampler.late_frames
        sampler.read_block(block)
        rate = sampler.achieved_rate_hz()
        lowest = rate if lowest is None or rate < lowest else lowest
        out("block %d: %.1f Hz, gap %d us, %.1f us per read, %d late frames" % (
            b, rate, sampler.last_gap_us, sampler.last_frame_us / sampler.channels,
            sampler.late_frames - late))
        if pause_ms:
            time.sleep(pause_ms / 1000)
    return lowest


# The reference front end's scales (docs/metrology.md), for the boards to pass into their
# MetrologyConfig (boards/ assembles; hal knows no metrology). PacedADCBlock is gapped, so
# energy is integrated over the clock (time_base "clock").
V_SCALE = 0.2  # volts per ADC LSB at the front end's nominal gain
I_SCALE = 0.05  # amps per ADC LSB at the front end's nominal gain


def front_end(phases, rate_hz, skew_us):
    """The MetrologyConfig arguments of the ESP32 boards' front end (as keywords)."""
    return {"phases": phases, "rate_hz": rate_hz, "v_scale": V_SCALE, "i_scale": I_SCALE,
            "skew_us": skew_us, "time_base": "clock"}


def board_hal(name, p1_uart_id, p1_tx, data_request, leds, adc_pins=None, adc_rate_hz=2000,
              adc_frames=200, radio_pins=None, power_warning=None, watchdog_ms=None,
              registers_dir="/meter"):
    """The Hal of an ESP32-family board from its pin choices (boards/esp32*/board.py); with
    adc_pins, its front end sampled by a PacedADCBlock on the board's clock; power_warning:
    the GPIO of the supply monitor's early-warning output (high = supply failing);
    watchdog_ms: machine.WDT's timeout (the ESP-IDF task watchdog, docs/supervision.md);
    registers_dir: the registers' directory on the port's filesystem (flash())."""
    from hal import Hal

    clk = clock()
    adc = paced_adc(adc_pins, adc_rate_hz, clk, frames=adc_frames) if adc_pins else None
    radio = spi = None
    if radio_pins is not None:  # (spi_id, sck, mosi, miso, cs, reset, int): an MRF24J40MA
        from hal.radio.wiring import mrf24j40

        spi_id, sck, mosi, miso, cs, reset, irq = radio_pins
        radio, spi = mrf24j40(spi_id, cs, reset, irq, sck, mosi, miso)
    return Hal(name, clock=clk, p1_uart=p1_uart(p1_uart_id, p1_tx),
               data_request=input_pin(data_request), leds=leds, flash=flash(registers_dir), adc=adc,
               spi=spi, radio=radio,
               power_warning=input_pin(power_warning) if power_warning is not None else None,
               watchdog=_watchdog(watchdog_ms) if watchdog_ms else None)


def _watchdog(timeout_ms):
    from hal.watchdog import MachineWatchdog

    return MachineWatchdog(timeout_ms)


def ntp_socket_opener(ssid, psk, host, port=123):
    """open_socket() for app.sntp.sync_task on an ESP32 with Wi-Fi: the station interface
    is brought up and joined once; each call then returns a non-blocking UDP socket
    connected to the server, or raises OSError while the network is not up yet. The
    server's address is looked up once and kept: a DNS lookup blocks the whole firmware,
    and one that hangs past the watchdog's timeout would reset the meter (give an IPv4
    literal as ntp_server to skip it)."""
    import network
    import socket

    wlan = network.WLAN(network.STA_IF)
    joined = [False]
    address = [None]

    def open_socket():
        if not wlan.active():
            wlan.active(True)
        if not wlan.isconnected():
            if not joined[0]:
                wlan.connect(ssid, psk)
                joined[0] = True
            raise OSError("Wi-Fi not connected yet")
        if address[0] is None:
            address[0] = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(address[0])
        return sock

    return open_socket
