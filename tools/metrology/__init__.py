"""Host tools for metrology: synthesize front-end captures, analyse them with the firmware's
own metrology code, and run the IEC 62053 accuracy table (python -m tools.metrology)."""
