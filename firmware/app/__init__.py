# Application glue shared by main.py and the boards: version, status indication.
