# The meter firmware's packages, for a board's manifest to include (MicroPython manifest
# format). Option hal_backends: the firmware/hal backend modules that board needs; the
# others (which import other ports' modules) stay off the board.
options.defaults(hal_backends=[])

package("hal", files=["__init__.py", "ticks.py", "clock.py", "sim.py", "adc_sim.py", "adc_replay.py",
                         "radio.py"]
        + list(options.hal_backends))
package("native")  # the Python fronts; the C sources beside them are not .py
package("app")
package("metrology")
package("registers")
package("h1")
package("han")
module("main.py")
