# The file system the registers live on: littlefs (vfs.VfsLfs2) on the board's flash block
# device, formatted on first use; on CPython, which has no littlefs binding, the RAM file
# system of registers/memfs.py (atomic like littlefs) stands in.


def open_filesystem(block_device):
    """(file system object, description) for the record store and the load profile."""
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
