# The file system the registers live on: littlefs (vfs.VfsLfs2) on the board's flash block
# device, formatted on first use; on CPython, which has no littlefs binding, the RAM file
# system of registers/memfs.py (atomic like littlefs) stands in.


def open_filesystem(block_device):
    """(file system object, description) for the record store and the load profile. A board
    whose flash is already a mounted filesystem (hal.fsdir.DirFs: real boards, where the
    port mounts its partition at boot) passes that object, which is used as it is."""
    if hasattr(block_device, "open"):
        return block_device, "directory %s of the board's filesystem" % block_device.path
    try:
        import vfs
    except ImportError:
        from registers.memfs import MemoryFs

        return MemoryFs(atomic=True), "memfs (no littlefs on this runtime)"
    try:
        return vfs.VfsLfs2(block_device), "littlefs"
    except OSError:
        # Blank or unreadable flash: a new meter, or flash that lost its contents.
        vfs.VfsLfs2.mkfs(block_device)
        return vfs.VfsLfs2(block_device), "littlefs (formatted)"
