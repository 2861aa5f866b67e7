*** Settings ***
Documentation     The objects each telegram carries, their order and formats, as the BAP
...               states them (docs/bap/h1.md); dsmr_parser decodes every line.
Library           tools.baiop.P1Library
Library           tools.baiop.HanLibrary
Suite Setup       Use Shared Capture

*** Test Cases ***
Dsmr_Parser_Reads_All
    Every Telegram Should Parse With Dsmr Parser

Object_Set_Nl
    Skip Unless Profile Is    nl
    Objects Should Be As Stated    H1-INF-001    @{MBUS}

Object_Set_Nl4
    Skip Unless Profile Is    nl4
    Objects Should Be As Stated    H1-INF-002    @{MBUS}

Object_Set_Be
    Skip Unless Profile Is    be
    Objects Should Be As Stated    H1-INF-003    @{MBUS}

Object_Set_Lu
    Skip Unless Profile Is    lu
    Objects Should Be As Stated    H1-INF-004    @{MBUS}

Object_Set_Se
    Skip Unless Profile Is    se
    Objects Should Be As Stated    H1-INF-005    @{MBUS}

Object_Set_Lt
    Skip Unless Profile Is    lt
    Objects Should Be As Stated    H1-INF-006    @{MBUS}

Energy_Format
    ${n}=    Values Should Match    energy    @{ENERGY}
    Should Be True    ${n} > 0    no energy register in the telegrams

Power_Format
    ${n}=    Values Should Match    power    1-0:1.7.0    1-0:2.7.0    1-0:21.7.0    1-0:22.7.0
    Should Be True    ${n} > 0    no power line in the telegrams

Voltage_Format
    ${n}=    Values Should Match    voltage    1-0:32.7.0    1-0:52.7.0    1-0:72.7.0
    Skip If    ${n} == 0    the profile sends no voltages

Current_Format
    ${n}=    Values Should Match    current    1-0:31.7.0    1-0:51.7.0    1-0:71.7.0
    Skip If    ${n} == 0    the profile sends no currents

Counter_Format
    ${a}=    Values Should Match    counter    0-0:96.7.21    0-0:96.7.9    1-0:32.32.0    1-0:32.36.0
    ${b}=    Values Should Match    \\(\\d{4}\\)    0-0:96.14.0
    Skip If    ${a} + ${b} == 0    the profile sends neither counters nor a tariff indicator

Identifier_Hex
    Hex Values Should Be Upper Case    0-0:96.1.1    0-0:42.0.0

Text_Message_Hex
    Hex Values Should Be Upper Case    0-0:96.13.0

Units_Exact
    Every Unit Should Be One Of The BAP

No_Invented_Valve
    Objects Should Exclude    0-1:24.4.0

Timestamp_Zone
    Timestamps Should Carry Their Summer Flag    0-0:1.0.0

Past_Timestamps
    Timestamps Should Carry Their Summer Flag

Power_Failure_Log
    Skip Unless Profile Is    nl    nl4
    ${n}=    Values Should Match    \\(\\d+\\)\\(0-0:96\\.7\\.19\\)(?:\\(\\d{12}[SW]\\)\\(\\d{10}\\*s\\)){0,10}    1-0:99.97.0
    Should Be True    ${n} > 0    no power-failure log

Se_Formats
    Skip Unless Profile Is    se
    ${e}=    Values Should Match    energy    @{ENERGY}
    ${p}=    Values Should Match    power    1-0:1.7.0    1-0:2.7.0
    ${i}=    Values Should Match    current    1-0:31.7.0    1-0:51.7.0    1-0:71.7.0
    Should Be True    ${e} > 0 and ${p} > 0 and ${i} > 0

Capacity_Tariff
    Skip Unless Profile Is    be
    ${a}=    Values Should Match    \\(\\d{2}\\.\\d{3}\\*kW\\)    1-0:1.4.0
    ${b}=    Values Should Match    \\(\\d{12}[SW]\\)\\(\\d{2}\\.\\d{3}\\*kW\\)    1-0:1.6.0
    ${c}=    Values Should Match    \\(\\d+\\)\\(1-0:1\\.6\\.0\\)\\(1-0:1\\.6\\.0\\)(?:\\(\\d{12}[SW]\\)\\(\\d{12}[SW]\\)\\(\\d{2}\\.\\d{3}\\*kW\\)){0,13}    0-0:98.1.0
    Should Be True    ${a} > 0 and ${b} > 0 and ${c} > 0

Breaker_And_Limits
    Skip Unless Profile Is    be    lu
    ${a}=    Values Should Match    \\([012]\\)    0-0:96.3.10
    ${unit}=    Set Variable If    '${PROFILE}' == 'be'    kW    kVA
    ${b}=    Values Should Match    \\(\\d{3}\\.\\d\\*${unit}\\)    0-0:17.0.0
    Should Be True    ${a} > 0 and ${b} > 0
    Skip If    '${PROFILE}' != 'be'    the fuse threshold is Belgian
    ${c}=    Values Should Match    \\(\\d{3}\\*A\\)    1-0:31.4.0
    Should Be True    ${c} > 0

Extra_Tariff_Registers
    Skip Unless Profile Is    nl    nl4    be
    Objects Should Include    1-0:1.8.1    1-0:1.8.2    1-0:2.8.1    1-0:2.8.2
    Objects Should Exclude    1-0:1.8.3    1-0:2.8.3    1-0:1.8.16    1-0:2.8.16

Field_Widths
    No Value Should Carry A Sign
    ${n}=    Values Should Match    energy    @{ENERGY}
    Should Be True    ${n} > 0

Gas_Lines_Only_After_Reading
    Skip Unless Profile Is    nl    nl4    be
    Open Han    ${HAN}    ${HAN_KEYS}
    Skip Unless Han    live
    Gas Lines Should Come Only After The First Reading    @{MBUS}

Gas_Format
    Skip Unless Profile Is    nl    nl4    be
    Open Han    ${HAN}    ${HAN_KEYS}
    Skip Unless Han    live
    Wait Until Device Prints    [gas]${SPACE}    m3    60
    Run Han For    3
    Gas Lines Should Have Their Format

Text_Message_From_Config
    Open Han    ${HAN}    ${HAN_KEYS}
    Skip Unless Han    live
    Use Shared Capture
    Text Line Should Be    ${EMPTY}
    Send Configuration    set-text '${MESSAGE}'
    Capture P1    ${{ $PERIOD * 2 + 1 }}
    Text Line Should Be    ${MESSAGE}
