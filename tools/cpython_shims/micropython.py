# The parts of MicroPython's `micropython` module that firmware code uses, for running the
# same modules on CPython (tests and host tools put this directory on sys.path).
# heap_lock()/heap_unlock() do nothing here: allocation-free paths are proven on the
# MicroPython tiers, where they are real.


def const(value):
    return value


def native(func):
    return func


def heap_lock():
    return 0


def heap_unlock():
    return 0


def mem_info(*args):
    pass


def alloc_emergency_exception_buf(size):
    pass
