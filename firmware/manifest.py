# The meter firmware's packages, for a board's manifest to include (MicroPython manifest
# format). Option hal_backends: the firmware/hal backend modules that board needs; the
# others (which import other ports' modules) stay off the board.
options.defaults(hal_backends=[], simulation=False)

# Stand-ins for hardware a board lacks (the emulated board's front end and RAM flash, the
# simulated 802.15.4 medium): only a board that simulates takes them (simulation=True). A
# real board's image holds none of them (issue 10: real data only).
_SIM_HAL = ["sim.py", "adc_sim.py", "adc_replay.py", "meter_ic_sim.py", "ads131m04_sim.py",
            "ads131m04_sim_bus.py", "atm90e32_sim.py", "ade7953_sim.py"]
_SIM_HAN = ["radio_sim.py"]

package("hal", files=["__init__.py", "ticks.py", "clock.py", "aio.py", "fsdir.py", "watchdog.py",
                      "radio/__init__.py", "radio/mrf24j40.py", "radio/mrf24j40_regs.py",
                      "radio/wiring.py"]
        + list(options.hal_backends) + (_SIM_HAL if options.simulation else []))
package("native")  # the Python fronts; the C sources beside them are not .py
package("app")
package("metrology")
package("registers")
package("h1")
package("han", files=["__init__.py", "bridge_proto.py", "counters.py", "deadline.py", "inventory.py",
                       "diag.py", "diag_report.py", "octets.py",
                      "node.py", "pcap.py", "radio_bridge.py", "run.py", "sniffer.py",
                      "tamper.py", "mac/__init__.py", "mac/ccm.py", "mac/cmdframes.py",
                      "mac/commands.py", "mac/csma.py", "mac/duplicates.py", "mac/fcs.py",
                      "mac/frame.py", "mac/indirect.py", "mac/mac.py", "mac/roles.py",
                      "mac/scan.py", "mac/security.py"]
        + ["zigbee.py", "zlink.py", "nwk/__init__.py", "nwk/frame.py", "nwk/security.py",
           "nwk/commands.py", "nwk/devices.py", "nwk/layer.py", "nwk/store.py",
           "nwk/aging.py"]
        + ["aps/__init__.py", "aps/frame.py", "aps/security.py", "aps/commands.py",
           "aps/layer.py", "aps/linksec.py"]
        + ["tc/__init__.py", "tc/keys.py", "tc/keygen.py", "tc/centre.py", "tc/joiner.py"]
        + ["zdo/__init__.py", "zdo/frames.py", "zdo/addr.py", "zdo/nodedesc.py",
           "zdo/bind.py", "zdo/server.py", "zdo/client.py"]
        + ["zcl/__init__.py", "zcl/frame.py", "zcl/types.py", "zcl/general.py",
           "zcl/reporting.py", "zcl/dispatch.py", "zcl/engine.py", "zcl/engine_store.py",
           "zcl/reportcfg.py"]
        + ["se/__init__.py", "se/server.py", "se/basic.py", "se/identify.py", "se/time.py",
           "se/metering.py", "se/units.py", "se/sources.py", "se/price.py",
           "se/messaging.py", "se/router.py", "se/hub.py", "se/subscribers.py",
           "se/gasmeter.py", "se/gasreg.py", "se/gasrelay.py", "se/ihd.py", "se/ihd_peer.py",
           "se/ihd_req.py"]
        + ["hub/__init__.py", "hub/forward.py", "hub/deliver.py"]
        + ["ota/__init__.py", "ota/mmo.py", "ota/header.py", "ota/image.py", "ota/archive.py",
           "ota/cluster.py", "ota/server.py", "ota/client.py"]
        + (_SIM_HAN if options.simulation else []))
module("main.py")
