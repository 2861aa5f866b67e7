*** Settings ***
Documentation     Timing: one telegram per period from the meter clock's boundaries,
...               measured by each telegram's first octet at the port.
Library           tools.baiop.P1Library
Suite Setup       Use Shared Capture

*** Test Cases ***
Period_Per_Profile
    Period Should Be    ${PERIOD}    ${TOLERANCE}

Period_Jitter
    Jitter Should Be Below    ${PERIOD}    ${JITTER}
    Plot Period Histogram    ${OUTPUT DIR}${/}period-histogram.png

Telegram_Within_Period
    Skip Unless Target Can    times
    Every Telegram Should End Within    ${PERIOD}

Timestamp_Matches_Start
    Skip Unless Target Can    wall-clock
    Telegram Times Should Match Arrival    ${PERIOD}
