# A simulated day of the gas meter role with the hub (tests/unit/test_han_se_gas.py's
# bench, over real registers): every 5-minute report reaches the registers' gas mailbox in
# order, none lost, each equal to the scenario's register at its capture; and the meter's
# cost as a battery device, printed as figures (run with -s): the time its transceiver is
# on (duty cycle), the frames it sends and takes in, its polls. Issue 12, "the gas meter
# sleeps between polls: duty cycle and frames per day". Tier 1 only (a day of simulated
# traffic is too long for the MicroPython tier's time limit).
import test_han_se_gas as gas

DAY = 86400


def test_a_simulated_day_of_the_gas_meter():
    b = gas._joined()
    m = b.meter
    r = b.gas_radio
    on0, tx0, rx0, polls0 = r.on_us, r.tx_frames, r.rx_frames, b.gas.mac.polls
    fast0, sync0, ack0 = m.fast_polls, m.syncs, m.reports_acked
    n0 = len(gas.reports(b.hub_rx))
    b.run(DAY)
    if r.enabled:  # the receiver still on at the end: count up to now
        r.off()
        r.on()
    on_us = r.on_us - on0
    tx, rx = r.tx_frames - tx0, r.rx_frames - rx0
    polls = b.gas.mac.polls - polls0
    reps = gas.reports(b.hub_rx)
    day = reps[n0:]
    print("gas meter, one simulated day: %d reports (%d acked, %d lost), %d time syncs; "
          "%d polls (%d fast); %d frames sent + %d received = %d frames; transceiver on "
          "%.1f s = duty cycle %.3f %%" % (
              len(day), m.reports_acked - ack0, m.reports_lost, m.syncs - sync0, polls,
              m.fast_polls - fast0, tx, rx, tx + rx, on_us / 1e6, 100.0 * on_us / (DAY * 1e6)))
    # 288 five-minute marks in a day, each reported once, in order, on its mark.
    assert len(day) == 288
    caps = [x[0x0007] for x in reps]
    assert all(caps[i + 1] - caps[i] == 300 for i in range(1, len(caps) - 1))
    gas._check_values(reps, reps[0])
    assert m.reports_lost == 0 and m.reports_acked == m.reports_sent == len(reps)
    # Every report reached the mailbox (what P1 prints), none refused or reordered.
    assert b.relayed == [(x[0x0000], x[0x0007], gas.EQUIPMENT_ID) for x in reps]
    g = b.regs.gas
    assert g.readings == len(reps) and g.refused_time == g.refused_backwards == 0
    assert (g.litres, g.capture_utc) == (reps[-1][0x0000], reps[-1][0x0007])
    # Synced once an hour.
    assert 23 <= m.syncs - sync0 <= 25
    # Asleep almost all the time: slow polls every 7 s (12 343 a day) plus a few fast
    # ones around each exchange.
    assert 12300 <= polls <= 13500
    assert on_us < DAY * 1e6 * 0.005
