# Tier 2: run portable test modules under the MicroPython unix port.
#   build/micropython tests/mpy/runner.py MODULE [MODULE ...]
# Prints one line per test: "PASS module.test" or "FAIL module.test" followed by the
# traceback indented by "| ". Exit status 1 when any test failed.
import io
import sys


def run_module(name):
    failures = 0
    module = __import__(name)
    names = [n for n in dir(module) if n.startswith("test_")]
    for test_name in sorted(names):
        func = getattr(module, test_name)
        if not callable(func):
            continue
        try:
            func()
            print("PASS %s.%s" % (name, test_name))
        except Exception as e:  # report and carry on with the next test
            failures += 1
            print("FAIL %s.%s" % (name, test_name))
            buf = io.StringIO()
            sys.print_exception(e, buf)
            for line in buf.getvalue().split("\n"):
                if line:
                    print("| " + line)
    return failures


def main():
    failures = 0
    for name in sys.argv[1:]:
        try:
            failures += run_module(name)
        except Exception as e:
            failures += 1
            print("FAIL %s.<import>" % name)
            sys.print_exception(e)
    sys.exit(1 if failures else 0)


main()
