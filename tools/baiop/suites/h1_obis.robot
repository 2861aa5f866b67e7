*** Settings ***
Documentation     The objects each telegram carries, their order and formats, as the BAP
...               states them (docs/bap/h1.md); dsmr_parser decodes every line.
Library           tools.baiop.P1Library
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
