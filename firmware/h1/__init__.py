# H1: the P1 push on the isolated UART (built by the H1 issue).
