*** Settings ***
Documentation     The registers on P1 behave as registers: energy never decreases, through
...               a reboot of the meter too (kept on flash).
Library           tools.baiop.P1Library

*** Test Cases ***
Tariff_Indicator_Follows_Calendar
    Use Shared Capture
    Tariff Should Follow The Factory Calendar

Monotonic_Across_Reboot
    Use Shared Capture
    ${last}=    Registers Should Never Decrease    @{ENERGY}
    Skip Unless Target Can    reboot
    Reboot Target
    Capture P1    ${{ $PERIOD * 3 + 1 }}
    Registers Should Never Decrease    @{ENERGY}
    First Values Should Not Be Below    ${last}

Failure_Counters_Across_Power_Cut
    Skip Unless Target Can    reboot
    Skip Unless Profile Is    nl    nl4
    Use Shared Capture
    ${short}=    Counter Value    0-0:96.7.21
    ${long}=    Counter Value    0-0:96.7.9
    # Monotonic_Across_Reboot (before) cut the supply for a few seconds: one short failure.
    Capture P1    ${{ $PERIOD * 2 + 1 }}
    ${short_after}=    Counter Value    0-0:96.7.21
    ${long_after}=    Counter Value    0-0:96.7.9
    Should Be Equal As Integers    ${short_after}    ${short + 1}
    Should Be Equal As Integers    ${long_after}    ${long}
