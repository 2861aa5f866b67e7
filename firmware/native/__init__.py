# Hot paths with a native (natmod) implementation and a same-signature Python fallback.
