*** Settings ***
Documentation     The Smart Energy clusters the hub serves (docs/bap/han.md FUN, INF): the
...               gas meter's reports relayed into P1, the display's values against P1's
...               digits, prices and messages set through the configuration path.
Library           tools.baiop.P1Library
Library           tools.baiop.HanLibrary
Suite Setup       Open Han    ${HAN}    ${HAN_KEYS}
Suite Teardown    Keep Han Logs

*** Test Cases ***
Endpoints_And_Descriptors
    Skip Unless Han
    Match Descriptor Should Find Endpoints    1    2

Gas_Report_Reaches_P1
    Skip Unless Han    live
    Skip Unless Profile Has Gas
    Gas Reports Should Reach P1

Electricity_Metering_Attributes
    Skip Unless Han
    Electricity Values Should Have Their Types

Invalid_Values_For_Unknown
    Skip Unless Han
    Invalid Values Should Mark The Unknown

Time_Attributes
    Skip Unless Han
    Time Attributes Should Be Stated

Electricity_Units_Match_P1
    Skip Unless Han
    Electricity Units Should Be Stated
    Skip Unless Han    live
    Skip Unless Profile Has Gas
    Display Should Match P1

Gas_Mirror_Matches_P1
    Skip Unless Han
    Gas Mirror Units Should Be Stated
    Skip Unless Han    live
    Skip Unless Profile Has Gas
    Display Should Match P1

Price_Follows_Tariff
    Skip Unless Han    live
    Send Configuration    set-prices ${PRICES}
    ${tier}=    Display Tier Should Follow P1
    Display Should Show    currency    EUR

Message_Display_And_Confirm
    Skip Unless Han    live
    Send Configuration    set-text '${MESSAGE}'
    Display Should Show    message    ${MESSAGE}
    Message Confirmation Should Be Logged

Store_And_Forward_Delivers_Once
    Skip Unless Han    live
    Display Should Show    message    ${MESSAGE}
    Messages Should Be Delivered Once    display

Default_Response_Rules
    Skip Unless Han
    Default Responses Should Follow The Rules

Aps_Acknowledged_Delivery
    Skip Unless Han
    Hub Unicasts Should Ask For Aps Acks

Gas_Meter_Reports
    Skip Unless Han    live
    Gas Meter Should Report On Schedule    ${GAS_REPORT_S}

Report_Intervals
    Skip Unless Han
    Report Intervals Should Follow Configuration

Reporting_Configured_And_Kept
    Skip Unless Han    live
    Report Intervals Should Follow Configuration
    Power Cut Of The Hub After Configuration
    Reporting Should Survive The Power Cut
