*** Settings ***
Documentation     The registers on P1 behave as registers: energy never decreases, through
...               a reboot of the meter too (kept on flash).
Library           tools.baiop.P1Library

*** Test Cases ***
Monotonic_Across_Reboot
    Use Shared Capture
    ${last}=    Registers Should Never Decrease    @{ENERGY}
    Skip Unless Target Can    reboot
    Reboot Target
    Capture P1    ${{ $PERIOD * 3 + 1 }}
    Registers Should Never Decrease    @{ENERGY}
    First Values Should Not Be Below    ${last}
