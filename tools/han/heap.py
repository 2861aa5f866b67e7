"""The firmware's Python heap on the host, for long scenarios (tools/han/se_day.py): does
what the firmware holds grow? Two measures, each taken after gc.collect():

  retained(roots)  the bytes (sys.getsizeof) of every object reachable from the roots: the
                   firmware's modules (their globals) and the objects of the simulated
                   devices. Functions, classes and modules are not followed (code, not
                   state), bound methods lead to their object; what a tool keeps for its
                   own records is reachable only through them and so left out. Cheap (one
                   walk), so it can run with every scenario.
  traced()         tracemalloc's current traced size, all of it and the part allocated in
                   firmware/ files less registers/memfs.py (the RAM stand-in for flash: what
                   the registers write is flash on a board). Needs tracing from the start,
                   which makes the simulation about five times slower.
"""
import gc
import os
import sys
import tracemalloc
import types

from tools import fwpath

_CODE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
         types.CodeType, types.BuiltinMethodType, types.WrapperDescriptorType,
         types.MethodDescriptorType, types.GetSetDescriptorType, types.MemberDescriptorType)
_FIRMWARE = fwpath.FIRMWARE + os.sep
_FLASH = os.path.join(fwpath.FIRMWARE, "registers", "memfs.py")


def firmware_modules():
    """The globals of every loaded module whose file is under firmware/."""
    out = []
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None) or ""
        if f.startswith(_FIRMWARE):
            out.append(vars(m))
    return out


def retained(roots, opaque=()):
    """(bytes, objects) reachable from roots, after a collection; objects of the classes
    in opaque (the flash's stand-in) are neither counted nor followed."""
    gc.collect()
    seen = set()
    stack = list(roots)
    size = 0
    count = 0
    while stack:
        o = stack.pop()
        k = id(o)
        if k in seen:
            continue
        seen.add(k)
        if isinstance(o, types.MethodType):
            stack.append(o.__self__)
            continue
        if isinstance(o, _CODE) or isinstance(o, opaque):
            continue
        size += sys.getsizeof(o)
        count += 1
        stack.extend(gc.get_referents(o))
    return size, count


def traced():
    """{"traced": all traced bytes, "firmware": those allocated in firmware/ files less the
    flash stand-in}, after a collection; None when tracemalloc is not tracing."""
    if not tracemalloc.is_tracing():
        return None
    gc.collect()
    firmware = 0
    for st in tracemalloc.take_snapshot().statistics("filename"):
        name = st.traceback[0].filename
        if name.startswith(_FIRMWARE) and name != _FLASH:
            firmware += st.size
    return {"traced": tracemalloc.get_traced_memory()[0], "firmware": firmware}
