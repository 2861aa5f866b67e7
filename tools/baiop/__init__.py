"""BAIOP: the Basic Application Profile test specification of seed 000 App. E, automated.

bap.py reads the BAP documents (docs/bap/*.md) into statements and builds the coverage
table from test results; the runner and its keyword libraries live beside it.
"""
