"""Small, faithful fakes of the MicroPython port modules the real-board HAL backends use
(machine, esp32, neopixel, pyb): real constructor signatures, and a record of what the
firmware asked of them."""
